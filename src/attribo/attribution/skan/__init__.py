"""SKAdNetwork install-validation postbacks: parse, verify Apple's signature, decode values."""
