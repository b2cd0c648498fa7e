-- Built CONCURRENTLY so they never block writes on a live database; dbops runs this file outside a
-- transaction (marking the version dirty while it runs, as golang-migrate does).
CREATE INDEX CONCURRENTLY IF NOT EXISTS driver_location_history_driver_time_idx
    ON driver_location_history (driver_id, recorded_at DESC);
CREATE INDEX CONCURRENTLY IF NOT EXISTS notifications_unread_idx
    ON notifications (user_id) WHERE read_at IS NULL;
CREATE INDEX CONCURRENTLY IF NOT EXISTS eta_predictions_ride_idx ON eta_predictions (ride_id);
CREATE INDEX CONCURRENTLY IF NOT EXISTS drivers_available_idx ON drivers (status) WHERE status = 'available';
