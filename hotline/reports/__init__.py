"""Dashboard aggregates for supervisors: volumes over time, hot topics, the open and overdue workload."""
