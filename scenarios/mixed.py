"""Mixed: browsers and shoppers together, four browsers to each shopper.

Most visitors of a shop only look; those who buy also browse (the shopper's own catalogue task).
The weights are the class attribute `weight`, as locust mixes user classes.

    python -m locust -f scenarios/mixed.py --headless -u 40 -r 10 --run-time 60s
"""

from scenarios import browse, shopper


class Browser(browse.CatalogueBrowser):
    weight = 4


class Buyer(shopper.Shopper):
    weight = 1
