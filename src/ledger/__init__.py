"""drledger: a signed, hash-chained audit ledger for 双随机、一公开 supervision."""
