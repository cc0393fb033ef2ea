def fetch_prices(*, now):
    raise NotImplementedError("the price fetcher is built in issue #3")
