"""What schemathesis needs to know about Custos's API beyond what JSON Schema can say.

The OpenAPI document names the formats its patterns cannot express (an address's checksum, a
card number's Luhn digit); here they get strategies that yield valid values, so that the
fuzzer's "valid" requests are valid.

Loaded by scripts/fuzz-api with SCHEMATHESIS_HOOKS=schemathesis_hooks.
"""

import schemathesis
from hypothesis import strategies as st

# Real addresses of each network (labelled, clean and well-known ones), checksums and all.
ADDRESSES = {
    "bitcoin-address": [
        "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2",
        "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy",
        "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4",
        "bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu",
    ],
    "ethereum-address": [
        "0x8589427373D6D84E98730D7795D8f6f8731FDA16",
        "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
        "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
        "0xdbf03b407c01e7cd3cbea99509d93f8dddc8c6fb",
    ],
    "tron-address": [
        "TDvr6Jpwfp1wDiV7PhaB19YMsMHRSXmY7p",
        "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t",
    ],
}
for name, addresses in ADDRESSES.items():
    schemathesis.openapi.format(name, st.sampled_from(addresses))


def _luhn_digit(body: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


schemathesis.openapi.format(
    "card-number",
    st.integers(min_value=11, max_value=18)
    .flatmap(lambda n: st.text(alphabet="0123456789", min_size=n, max_size=n))
    .map(lambda body: body + _luhn_digit(body)),
)

