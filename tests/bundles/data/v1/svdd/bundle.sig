{
  "format": "fedsec-bundle-signature",
  "version": 1,
  "manifest_sha256": "78e46159070f764403f4619f9fa6ee29b2defcbb0295c783c91200c112ecf476",
  "weights_sha256": "75f2c9b1bea5c93eb2acdd4f9683a5ca1fe5ddf0e271bb4e822a2744f82365b9",
  "signed_at": "2026-11-28T13:42:38+00:00",
  "algorithm": "ed25519",
  "public_key": "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAA6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=\n-----END PUBLIC KEY-----\n",
  "signer": "SHA256:Vkdap1RjR0wChd9dvyvKtz2mUTWIOem3dIGy6rEHcIw",
  "signature": "vDhxQtlBOwT71B1uzWDWbsoVWZ2jvgVP28uQOu4aLJ5/ls59rOd2irnKVq5uMe5C/iDrYJi14nCO731wkC1zDQ=="
}
