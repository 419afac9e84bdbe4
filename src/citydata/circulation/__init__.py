"""Trusted circulation (可信流通): what lets data leave the platform safely and provably.

- ``merkle``, ``checkpoints``, ``audit_log``, ``audit_verify``, ``metering`` — the tamper-evident
  audit log (RFC 6962/9162 Merkle tree, Ed25519-signed checkpoints, SQLite store) and metering;
- ``pseudonyms`` — per-domain keyed pseudonyms (HKDF + HMAC-SHA256), audited re-identification;
- ``detectors``, ``detection_eval``, ``grading`` — classification and grading (分类分级) of columns,
  propagated along the catalog's column lineage (policy ``policies/grading.yaml``);
- ``masking`` — roles × grades → allow / mask / hash / generalise / deny; ``enforce`` is the one
  function every outbound path calls (policy ``policies/masking.yaml``);
- ``watermark`` — recipient fingerprints (domain pseudonyms + canary records) and leak tracing;
- ``odrl``, ``usage``, ``grants`` — ODRL-style usage policies per dataset (``policies/usage.yaml``),
  access requests decided by the owning department's steward, time-limited grants checked on every use;
- ``release`` — the one gate for outbound data: basis (owner / open / grant), grant check, masking,
  watermark for downloads under a grant, audit;
- ``context`` — these resources resolved from Settings; ``policy_files`` — policy YAML loading;
  ``sqlite_file`` — the SQLite file the audit log and the grant store each keep.
"""
