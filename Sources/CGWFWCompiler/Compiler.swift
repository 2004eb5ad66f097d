import CGWFWModel

/// Connections + profile → text for one target: the intent builder followed by the target's backend.
public enum Compiler {
    public struct Output: Sendable {
        public var text: String
        public var intent: RuleIntent
        /// The intent builder's and the backend's diagnostics, in that order.
        public var diagnostics: Diagnostics
    }

    public static func render(_ intent: RuleIntent, target: Profile.Target, profile: Profile) -> (text: String, diagnostics: Diagnostics) {
        switch target {
        case .nftables: return NftablesBackend.render(intent)
        case .iptables: return IptablesBackend.render(intent, family: .ipv4)
        case .ip6tables: return IptablesBackend.render(intent, family: .ipv6)
        case .pf: return PFBackend.render(intent, dialect: profile.pfDialect)
        case .json: return JSONBackend.render(intent)
        }
    }

    public static func compile(connections: [Connection], profile: Profile, target: Profile.Target? = nil) -> Output {
        let result = IntentBuilder.build(connections: connections, profile: profile)
        let chosen = target ?? profile.target
        let rendered = chosen == .nftables && profile.attach != nil
            ? NftablesAttachBackend.render(result.intent, attach: profile.attach!, attachChains: profile.attachChains)
            : render(result.intent, target: chosen, profile: profile)
        var diagnostics = result.diagnostics
        diagnostics.append(contentsOf: rendered.diagnostics)
        return Output(text: rendered.text, intent: result.intent, diagnostics: diagnostics)
    }
}
