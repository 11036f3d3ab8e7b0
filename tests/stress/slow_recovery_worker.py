"""``python -m services.enrich`` whose near-duplicate table takes a while to finish each recovery.

The extra recovery callback sleeps ``NEWSWIRE_STRESS_RECOVER_DELAY_S`` seconds (default 8), which
widens the window in which another member's join (a new rebalance) lands while faust is finishing a
recovery: the window behind faust's "rebalance again" / "Recovery rebalancing again" paths.
"""

from __future__ import annotations

import asyncio
import logging
import os

from services.enrich import app as enrich_app
from services.enrich.__main__ import main

DELAY_S = float(os.environ.get("NEWSWIRE_STRESS_RECOVER_DELAY_S", "8"))
log = logging.getLogger("services.enrich.stress")


async def slow_recovery() -> None:
    log.info("recovery callback sleeping", extra={"delay_s": DELAY_S})
    await asyncio.sleep(DELAY_S)
    log.info("recovery callback done")


enrich_app.duplicate_signatures.on_recover(slow_recovery)

if __name__ == "__main__":
    main()
