{
  "format": "fedsec-bundle-signature",
  "version": 1,
  "manifest_sha256": "4b35043ba29c22af88e7d5b03df6ef5425e74814a56badb852b23a55c231da3a",
  "weights_sha256": "d946eb3b9035fa73aa5a7b68f396ccc500a6b9cc17095df12d16ba1ac5cb1f40",
  "signed_at": "2026-11-28T13:42:38+00:00",
  "algorithm": "ed25519",
  "public_key": "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAA6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=\n-----END PUBLIC KEY-----\n",
  "signer": "SHA256:Vkdap1RjR0wChd9dvyvKtz2mUTWIOem3dIGy6rEHcIw",
  "signature": "2Vm+ZRFseePFPf90Gj9oCMDlzW5piUttIjNso+EoPsLk1qyMa/B8SPio1d5LEQQ8CFWk73RT43n6bGppKhAcCA=="
}
