#ifndef CGWFW_CNFTNL_SHIM_H
#define CGWFW_CNFTNL_SHIM_H
#include <stdint.h>
#include <sys/socket.h>
/* glibc first: linux/libc-compat.h then skips its own in_addr/sockaddr_in, so Foundation and CNftnl can meet. */
#include <netinet/in.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nf_tables.h>
#include <libmnl/libmnl.h>
#include <libnftnl/table.h>
#include <libnftnl/chain.h>
#include <libnftnl/rule.h>
#include <libnftnl/expr.h>
#include <libnftnl/set.h>
#include <libnftnl/batch.h>
#include <libnftnl/gen.h>
#include <libnftnl/common.h>
#include <libnftnl/udata.h>
#endif
