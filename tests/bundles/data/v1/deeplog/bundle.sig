{
  "format": "fedsec-bundle-signature",
  "version": 1,
  "manifest_sha256": "0891b1b207f944b2449f1077841157e27ec842e25db8096cd117d725cd48b21c",
  "weights_sha256": "5372359c108d08fe1c6163cbc2f8461182e5f6240596e7e9f2ade945d8bf185b",
  "signed_at": "2026-11-28T13:42:38+00:00",
  "algorithm": "ed25519",
  "public_key": "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAA6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=\n-----END PUBLIC KEY-----\n",
  "signer": "SHA256:Vkdap1RjR0wChd9dvyvKtz2mUTWIOem3dIGy6rEHcIw",
  "signature": "DhiMG4eNlr7fhPddD5JLkyVrw98Vsw0qSY04P4oK/LH5qYqTSj/MDWd5OE/iInc3XxZWyImKIQCzt9tOVa9gDQ=="
}
