"""Work orders (工单): their lifecycle, history and API."""
