DROP TRIGGER IF EXISTS users_touch_updated_at ON users;
DROP FUNCTION IF EXISTS touch_updated_at();
DROP TABLE IF EXISTS eta_predictions;
DROP TABLE IF EXISTS notifications;
DROP TABLE IF EXISTS driver_location_history;
DROP TYPE IF EXISTS notification_channel;
