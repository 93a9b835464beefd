"""Addresses a callback may not go to: every block of IANA's special-purpose address registries,
multicast, and the cloud metadata and host endpoints that sit on ordinary-looking addresses.

Python's ``ipaddress.is_global`` follows the registries only in part (it calls 192.0.0.192,
the metadata endpoint of one cloud, global; 192.31.196.0/24 and 192.175.48.0/24 too), so the
registries are listed here as published:
https://www.iana.org/assignments/iana-ipv4-special-registry/ and
https://www.iana.org/assignments/iana-ipv6-special-registry/ (read 2026-12). Blocks the
registry marks "globally reachable" (AS112, TURN anycast, 6to4 relays) are refused as well:
no webhook receiver lives there, and refusing costs nobody anything.
"""

from __future__ import annotations

import ipaddress

_IPV4_SPECIAL = (
    "0.0.0.0/8",  # "this network"
    "10.0.0.0/8",  # private
    "100.64.0.0/10",  # shared address space (carrier NAT; Alibaba's metadata endpoint)
    "127.0.0.0/8",  # loopback
    "169.254.0.0/16",  # link-local (the metadata endpoint of AWS, GCP, Azure)
    "172.16.0.0/12",  # private
    "192.0.0.0/24",  # IETF protocol assignments (192.0.0.192: Oracle Cloud's metadata)
    "192.0.2.0/24",  # documentation
    "192.31.196.0/24",  # AS112
    "192.52.193.0/24",  # AMT
    "192.88.99.0/24",  # 6to4 relay anycast (deprecated)
    "192.168.0.0/16",  # private
    "192.175.48.0/24",  # direct delegation AS112
    "198.18.0.0/15",  # benchmarking
    "198.51.100.0/24",  # documentation
    "203.0.113.0/24",  # documentation
    "224.0.0.0/4",  # multicast
    "240.0.0.0/4",  # reserved, and the limited broadcast address
)
_IPV6_SPECIAL = (
    "::/128",  # unspecified
    "::1/128",  # loopback
    "::/96",  # IPv4-compatible (deprecated; ::7f00:1 is 127.0.0.1 to some stacks)
    "::ffff:0:0:0/96",  # IPv4-translated (SIIT; ::ffff:0:7f00:1)
    "64:ff9b::/96",  # IPv4/IPv6 translation (NAT64: reaches any IPv4 address)
    "64:ff9b:1::/48",  # local-use translation
    "100::/64",  # discard-only
    "100:0:0:1::/64",  # dummy prefix
    "2001::/23",  # IETF protocol assignments (Teredo, ORCHID, AMT, ...)
    "2001:db8::/32",  # documentation
    "2002::/16",  # 6to4 (reaches any IPv4 address)
    "2620:4f:8000::/48",  # direct delegation AS112
    "3fff::/20",  # documentation
    "5f00::/16",  # segment routing SIDs
    "fc00::/7",  # unique local (AWS's IPv6 metadata endpoint is fd00:ec2::254)
    "fe80::/10",  # link-local
    "fec0::/10",  # site-local (deprecated)
    "ff00::/8",  # multicast
)
SPECIAL_NETWORKS = tuple(ipaddress.ip_network(n) for n in (*_IPV4_SPECIAL, *_IPV6_SPECIAL))
# Cloud endpoints on addresses outside those blocks: Azure's host (wireserver) address.
METADATA_ADDRESSES = frozenset({ipaddress.ip_address("168.63.129.16")})
_LOOPBACK = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))


def refused_because(address, *, allow_loopback: bool) -> str | None:
    """Why a callback may not go to ``address`` (None: it may). An IPv4-mapped IPv6 address
    is judged as the IPv4 address it maps."""
    mapped = getattr(address, "ipv4_mapped", None)
    if mapped is not None:
        address = mapped
    if any(address in net for net in _LOOPBACK):
        return None if allow_loopback else "loopback"
    if address in METADATA_ADDRESSES:
        return "cloud metadata"
    for net in SPECIAL_NETWORKS:
        if address.version == net.version and address in net:
            return f"special-purpose {net}"
    return None
