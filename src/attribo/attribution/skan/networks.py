"""Names of well-known SKAdNetwork ids, so reports say "Meta" rather than an opaque id.

Ids come from the networks' own integration docs (each lists the id apps put in
`SKAdNetworkItems`). Unknown ids are reported as they are; the table is a nicety.
"""

from __future__ import annotations

KNOWN_NETWORKS: dict[str, str] = {
    "cstr6suwn9.skadnetwork": "Google",
    "v9wttpbfk9.skadnetwork": "Meta",
    "n38lu8286q.skadnetwork": "Meta",
    "ludvb6z3bs.skadnetwork": "AppLovin",
    "su67r6k2v3.skadnetwork": "ironSource",
    "4dzt52r2t5.skadnetwork": "Unity Ads",
    "bvpn9ufa9b.skadnetwork": "Unity Ads",
    "22mmun2rn5.skadnetwork": "Pangle",
    "238da6jt44.skadnetwork": "Pangle",
    "kbd757ywx3.skadnetwork": "Mintegral",
    "gta9lk7p23.skadnetwork": "Vungle",
    "f38h382jlk.skadnetwork": "Chartboost",
    "4pfyvq9l8r.skadnetwork": "AdColony",
    "wzmmz9fp6w.skadnetwork": "InMobi",
    "424m5254lk.skadnetwork": "Snap",
}


def network_name(ad_network_id: str) -> str:
    """The network's name when the id is well known, else the id itself."""
    return KNOWN_NETWORKS.get(ad_network_id.strip().lower(), ad_network_id)
