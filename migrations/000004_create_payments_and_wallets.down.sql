DROP TABLE IF EXISTS payments;
DROP TABLE IF EXISTS wallet_transactions;
DROP TABLE IF EXISTS wallets;
DROP TYPE IF EXISTS wallet_tx_kind;
DROP TYPE IF EXISTS payment_status;
DROP TYPE IF EXISTS payment_method;
