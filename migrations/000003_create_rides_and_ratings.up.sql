-- The ride lifecycle: requested -> accepted -> driver_arriving -> in_progress -> completed,
-- or cancelled from any state before completion.
CREATE TYPE ride_status AS ENUM ('requested', 'accepted', 'driver_arriving', 'in_progress', 'completed', 'cancelled');

CREATE TABLE IF NOT EXISTS rides (
    id                bigserial PRIMARY KEY,
    public_id         uuid NOT NULL DEFAULT gen_random_uuid() UNIQUE,
    rider_id          bigint NOT NULL REFERENCES users (id),
    driver_id         bigint REFERENCES drivers (user_id),
    vehicle_id        bigint REFERENCES vehicles (id),
    status            ride_status NOT NULL DEFAULT 'requested',
    pickup_lat        double precision NOT NULL,
    pickup_lng        double precision NOT NULL,
    dropoff_lat       double precision NOT NULL,
    dropoff_lng       double precision NOT NULL,
    pickup_address    text,
    dropoff_address   text,
    distance_km       numeric(8, 2),
    fare_cents        integer CHECK (fare_cents >= 0),
    currency          char(3) NOT NULL DEFAULT 'USD',
    requested_at      timestamptz NOT NULL DEFAULT now(),
    accepted_at       timestamptz,
    started_at        timestamptz,
    completed_at      timestamptz,
    cancelled_at      timestamptz,
    cancel_reason     text,
    CONSTRAINT rides_driver_when_accepted CHECK (status IN ('requested', 'cancelled') OR driver_id IS NOT NULL),
    CONSTRAINT rides_completed_has_fare CHECK (status <> 'completed' OR (fare_cents IS NOT NULL AND completed_at IS NOT NULL))
);
CREATE INDEX IF NOT EXISTS rides_rider_idx ON rides (rider_id, requested_at DESC);
CREATE INDEX IF NOT EXISTS rides_driver_idx ON rides (driver_id, requested_at DESC);
CREATE INDEX IF NOT EXISTS rides_open_idx ON rides (status) WHERE status NOT IN ('completed', 'cancelled');

CREATE TABLE IF NOT EXISTS ratings (
    id          bigserial PRIMARY KEY,
    ride_id     bigint NOT NULL REFERENCES rides (id) ON DELETE CASCADE,
    rater_id    bigint NOT NULL REFERENCES users (id),
    ratee_id    bigint NOT NULL REFERENCES users (id),
    stars       smallint NOT NULL CHECK (stars BETWEEN 1 AND 5),
    comment     text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (ride_id, rater_id)
);
