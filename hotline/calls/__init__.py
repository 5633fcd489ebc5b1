"""Phone calls: the Twilio and CTI edges, the queue to operators, seats, call-backs and call metrics."""
