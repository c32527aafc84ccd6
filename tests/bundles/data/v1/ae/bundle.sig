{
  "format": "fedsec-bundle-signature",
  "version": 1,
  "manifest_sha256": "6284d0b8e19cad255f822ff9a15e28979c4a04be2dbd54a0fb551d8e75d3816e",
  "weights_sha256": "d275aa7c2bd63bb377ccd7a0d922d696bca302097247ecea82f8a573e2df5a3f",
  "signed_at": "2026-11-28T13:42:38+00:00",
  "algorithm": "ed25519",
  "public_key": "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAA6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=\n-----END PUBLIC KEY-----\n",
  "signer": "SHA256:Vkdap1RjR0wChd9dvyvKtz2mUTWIOem3dIGy6rEHcIw",
  "signature": "Xup7A+vCvZ8rlQmY3DAi79+oO4zcxa8e/JwWh7AvftwqnB3DYTVKBC5yJ+1O8uLD7ScxSoom5NVLao/627QpBQ=="
}
