// Package scan holds the assessor's file checks: it reads configuration,
// source and log directories and gives evidence for the items of
// T/PCAC 0008-2020 that files can decide.
//
//   - files.secrets: App_Secret-like values assigned to key-like names in
//     configuration and source (3.3.4-2; application side 9.2.2-1, 11.3.5-2).
//   - files.private-keys: PEM private keys (plain or encrypted), PKCS#12 key
//     stores and raw key material assigned to key names (same items).
//   - logs.personal-data: unmasked card, resident identity and mobile numbers
//     in log files (application side 9.2.1-1, 13.2-1; bank side 8.3-2).
//   - logs.retention: the age of the oldest log entry (6.1.1-3: one year;
//     application side 11.3.4-3: six months).
//   - deps.inventory: third-party components from manifests and SBOMs (3.1-4).
//
// # Verdicts
//
// A check fails on any error-level finding and says how many and in how many
// files. It passes only on evidence: a scan that read nothing, or was given
// no directory, is not_tested naming the flag; a secret or key scan given
// only one of --config and --src is partial, since each item covers both. A
// walk that cannot finish (too many files, cancelled) is an error.
//
// # Paths
//
// A finding's Path names the directory flag it was found under, then the
// file's slash-separated path relative to that directory: "config/app.yaml",
// "src/internal/keys.go", "logs/2024/app.log.1.gz". Line counts from 1; 0
// means the whole file (a PKCS#12 key store).
//
// # Bounds
//
// A scan reads at most 50,000 files per check (more gives an error verdict),
// skips files over 10 MiB and binary files (a NUL byte in the first 8 KiB;
// PKCS#12 detection reads binary files), never enters .git, .hg, .svn,
// node_modules or vendor directories (vendored code is third-party code and
// is named in deps.inventory's reason), and follows symbolic links only to
// files inside the scanned directory. Every skip is counted in the reason.
//
// # Hygiene
//
// No secret, key or personal data leaves a scan: a finding's excerpt is its
// line with every detected secret replaced by "[redacted]", other long
// random-looking tokens redacted too, personal data masked with pii.MaskText,
// and the whole cut to 200 characters around the finding.
package scan
