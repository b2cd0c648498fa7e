DROP INDEX CONCURRENTLY IF EXISTS drivers_available_idx;
DROP INDEX CONCURRENTLY IF EXISTS eta_predictions_ride_idx;
DROP INDEX CONCURRENTLY IF EXISTS notifications_unread_idx;
DROP INDEX CONCURRENTLY IF EXISTS driver_location_history_driver_time_idx;
