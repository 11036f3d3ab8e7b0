"""The alert service: every newly indexed article against every watch, one alert per match."""
