"""Reports: what a merchant reads as sales, per channel or per day, and link conversion.

- `sales`: the sales report (SQL aggregates on orders and payments, up to date at once),
  its period, its CSV;
- `chart`: the report's bar chart, drawn server-side as SVG for the Django admin page.

The admin page's proxy model is `orders.models.reports.SalesReport`.
"""
