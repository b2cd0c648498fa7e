CREATE TYPE payment_method AS ENUM ('card', 'wallet', 'cash');
CREATE TYPE payment_status AS ENUM ('pending', 'authorized', 'captured', 'refunded', 'failed');
CREATE TYPE wallet_tx_kind AS ENUM ('top_up', 'ride_payment', 'refund', 'payout', 'promo_credit', 'referral_bonus');

CREATE TABLE IF NOT EXISTS wallets (
    user_id        bigint PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    balance_cents  bigint NOT NULL DEFAULT 0 CHECK (balance_cents >= 0),
    currency       char(3) NOT NULL DEFAULT 'USD',
    updated_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS wallet_transactions (
    id             bigserial PRIMARY KEY,
    wallet_id      bigint NOT NULL REFERENCES wallets (user_id) ON DELETE CASCADE,
    kind           wallet_tx_kind NOT NULL,
    amount_cents   bigint NOT NULL CHECK (amount_cents <> 0),
    ride_id        bigint REFERENCES rides (id),
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS wallet_transactions_wallet_idx ON wallet_transactions (wallet_id, created_at DESC);

CREATE TABLE IF NOT EXISTS payments (
    id              bigserial PRIMARY KEY,
    ride_id         bigint NOT NULL REFERENCES rides (id),
    payer_id        bigint NOT NULL REFERENCES users (id),
    method          payment_method NOT NULL,
    status          payment_status NOT NULL DEFAULT 'pending',
    amount_cents    integer NOT NULL CHECK (amount_cents >= 0),
    currency        char(3) NOT NULL DEFAULT 'USD',
    provider_ref    text UNIQUE,
    created_at      timestamptz NOT NULL DEFAULT now(),
    captured_at     timestamptz
);
CREATE INDEX IF NOT EXISTS payments_ride_idx ON payments (ride_id);
