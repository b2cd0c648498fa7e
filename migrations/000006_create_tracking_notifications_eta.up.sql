CREATE TYPE notification_channel AS ENUM ('push', 'sms', 'email');

CREATE TABLE IF NOT EXISTS driver_location_history (
    id           bigserial PRIMARY KEY,
    driver_id    bigint NOT NULL REFERENCES drivers (user_id) ON DELETE CASCADE,
    ride_id      bigint REFERENCES rides (id),
    lat          double precision NOT NULL CHECK (lat BETWEEN -90 AND 90),
    lng          double precision NOT NULL CHECK (lng BETWEEN -180 AND 180),
    speed_kmh    real,
    heading      smallint CHECK (heading BETWEEN 0 AND 359),
    recorded_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS notifications (
    id          bigserial PRIMARY KEY,
    user_id     bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    channel     notification_channel NOT NULL,
    title       text NOT NULL,
    body        text NOT NULL,
    payload     jsonb NOT NULL DEFAULT '{}',
    sent_at     timestamptz,
    read_at     timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- Predictions of the ETA model, kept to measure it against the actual times.
CREATE TABLE IF NOT EXISTS eta_predictions (
    id                 bigserial PRIMARY KEY,
    ride_id            bigint NOT NULL REFERENCES rides (id) ON DELETE CASCADE,
    model_version      text NOT NULL,
    predicted_seconds  integer NOT NULL CHECK (predicted_seconds > 0),
    actual_seconds     integer CHECK (actual_seconds > 0),
    features           jsonb NOT NULL DEFAULT '{}',
    created_at         timestamptz NOT NULL DEFAULT now()
);

CREATE OR REPLACE FUNCTION touch_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;
CREATE TRIGGER users_touch_updated_at BEFORE UPDATE ON users
    FOR EACH ROW EXECUTE FUNCTION touch_updated_at();
