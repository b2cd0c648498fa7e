-- Credentials for the apps' login; nullable so existing rows stay valid (backfilled by the apps).
ALTER TABLE users ADD COLUMN IF NOT EXISTS password_hash text;
