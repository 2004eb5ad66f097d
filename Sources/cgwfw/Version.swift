/// The one place the version lives: `cgwfw --version` prints it, and the Makefile reads it for the Debian
/// package and the manual (a test checks debian/changelog names the same version).
let cgwfwVersion = "0.1.0"
