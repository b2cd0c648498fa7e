-- Users of the platform: riders, drivers and admins share one table, told apart by role.
CREATE TYPE user_role AS ENUM ('rider', 'driver', 'admin');
CREATE TYPE user_status AS ENUM ('active', 'suspended', 'deleted');

CREATE TABLE IF NOT EXISTS users (
    id          bigserial PRIMARY KEY,
    public_id   uuid NOT NULL DEFAULT gen_random_uuid() UNIQUE,
    email       text NOT NULL UNIQUE CHECK (position('@' IN email) > 1),
    phone       text UNIQUE,
    full_name   text NOT NULL,
    role        user_role NOT NULL,
    status      user_status NOT NULL DEFAULT 'active',
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS users_role_idx ON users (role);

CREATE TABLE IF NOT EXISTS user_preferences (
    user_id              bigint PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    language             text NOT NULL DEFAULT 'en',
    currency             char(3) NOT NULL DEFAULT 'USD',
    notifications_email  boolean NOT NULL DEFAULT true,
    notifications_push   boolean NOT NULL DEFAULT true,
    updated_at           timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE user_preferences IS 'User application preferences';
