CREATE TYPE driver_status AS ENUM ('offline', 'available', 'on_trip', 'suspended');
CREATE TYPE vehicle_class AS ENUM ('economy', 'comfort', 'xl', 'premium');

CREATE TABLE IF NOT EXISTS drivers (
    user_id         bigint PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    license_number  text NOT NULL UNIQUE,
    status          driver_status NOT NULL DEFAULT 'offline',
    rating          numeric(3, 2) NOT NULL DEFAULT 5.00 CHECK (rating BETWEEN 1 AND 5),
    total_trips     integer NOT NULL DEFAULT 0 CHECK (total_trips >= 0),
    current_lat     double precision CHECK (current_lat BETWEEN -90 AND 90),
    current_lng     double precision CHECK (current_lng BETWEEN -180 AND 180),
    approved_at     timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS vehicles (
    id             bigserial PRIMARY KEY,
    driver_id      bigint NOT NULL REFERENCES drivers (user_id) ON DELETE CASCADE,
    make           text NOT NULL,
    model          text NOT NULL,
    year           smallint NOT NULL CHECK (year BETWEEN 1990 AND 2100),
    plate          text NOT NULL UNIQUE,
    color          text NOT NULL,
    class          vehicle_class NOT NULL DEFAULT 'economy',
    seats          smallint NOT NULL DEFAULT 4 CHECK (seats BETWEEN 1 AND 9),
    active         boolean NOT NULL DEFAULT true,
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS vehicles_driver_idx ON vehicles (driver_id);
