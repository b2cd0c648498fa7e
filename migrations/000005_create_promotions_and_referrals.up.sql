CREATE TABLE IF NOT EXISTS promo_codes (
    id                bigserial PRIMARY KEY,
    code              text NOT NULL UNIQUE CHECK (code = upper(code)),
    description       text,
    discount_percent  smallint CHECK (discount_percent BETWEEN 1 AND 100),
    discount_cents    integer CHECK (discount_cents > 0),
    max_redemptions   integer CHECK (max_redemptions > 0),
    valid_from        timestamptz NOT NULL DEFAULT now(),
    valid_until       timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT promo_codes_one_discount CHECK ((discount_percent IS NULL) <> (discount_cents IS NULL))
);

CREATE TABLE IF NOT EXISTS promo_redemptions (
    id             bigserial PRIMARY KEY,
    promo_code_id  bigint NOT NULL REFERENCES promo_codes (id),
    user_id        bigint NOT NULL REFERENCES users (id),
    ride_id        bigint REFERENCES rides (id),
    redeemed_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (promo_code_id, user_id)
);

CREATE TABLE IF NOT EXISTS referrals (
    id             bigserial PRIMARY KEY,
    referrer_id    bigint NOT NULL REFERENCES users (id),
    referred_id    bigint NOT NULL UNIQUE REFERENCES users (id),
    bonus_cents    integer NOT NULL DEFAULT 500 CHECK (bonus_cents >= 0),
    rewarded_at    timestamptz,
    created_at     timestamptz NOT NULL DEFAULT now(),
    CHECK (referrer_id <> referred_id)
);
