import type { RecordingSettings } from '../../core/recording-settings';

/** Twilio's RecordingSettings resource; the key pair is never part of it. */
export function recordingSettingsResource(s: RecordingSettings, accountSid: string, base: string): Record<string, unknown> {
  return {
    account_sid: accountSid,
    friendly_name: s.friendlyName || null,
    aws_credentials_sid: s.awsCredentialsSid,
    aws_s3_url: s.awsS3Url,
    aws_storage_enabled: s.awsStorageEnabled,
    encryption_key_sid: s.encryptionKeySid,
    encryption_enabled: s.encryptionEnabled,
    url: `${base}/v1/RecordingSettings/Default`,
  };
}
