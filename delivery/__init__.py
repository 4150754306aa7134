"""On-demand delivery: zones, slots, couriers, dispatch, live tracking and proof of delivery."""
