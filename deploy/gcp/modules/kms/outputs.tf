output "key_ids" {
  description = "CMEK key IDs by use (run, sql, secrets, registry). Each depends on the grant to its service agent."
  value       = { for k, key in google_kms_crypto_key.key : k => key.id }
  # A resource that references a key must not be created before its service agent may use it.
  depends_on = [google_kms_crypto_key_iam_member.agent]
}
