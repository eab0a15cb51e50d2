"""The HTML of the sandbox's /productpage, shaped like bookinfo's.

Owns the page a person sees: the book, then the reviews with no stars (v1), black stars (v2) or
red stars (v3), or bookinfo's "reviews unavailable" message when the call failed, and a footer
naming the reviews version that answered.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

from controller.sandbox.mesh.app import ProductPageResult

_STYLE = """
body { font-family: sans-serif; margin: 2em auto; max-width: 46em; color: #222; }
h1 { font-size: 1.6em; } blockquote { border-left: 3px solid #ccc; margin: 1em 0; padding: 0 1em; }
.stars-black { color: black; } .stars-red { color: #d00; } .failure { color: #a00; }
footer { margin-top: 2em; font-size: 0.85em; color: #666; }
"""


def render_product_page(result: ProductPageResult) -> str:
    """The whole page for one product-page request."""
    if result.reviews is None:
        reviews_html = (
            '<p class="failure">Error fetching product reviews! Sorry, product reviews are '
            f"currently unavailable for this book (HTTP {result.status}, "
            f"flags {html.escape(result.response_flags)}).</p>"
        )
    else:
        reviews_html = "\n".join(_render_review(r) for r in result.reviews.get("reviews", []))
    version = html.escape(result.reviews_version or "none")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Simple Bookstore App</title>
<style>{_STYLE}</style></head>
<body>
<h1>The Comedy of Errors</h1>
<p>Summary: Wikipedia Summary: The Comedy of Errors is one of William Shakespeare's early
plays. It is his shortest and one of his most farcical comedies.</p>
<h2>Book Reviews</h2>
{reviews_html}
<footer>reviews served by <strong id="reviews-version">{version}</strong>
in {result.duration_ms:.1f} ms</footer>
</body></html>
"""


def _render_review(review: Mapping[str, Any]) -> str:
    text = html.escape(str(review.get("text", "")))
    reviewer = html.escape(str(review.get("reviewer", "")))
    rating = review.get("rating")
    stars = ""
    if isinstance(rating, Mapping):
        count = int(rating.get("stars", 0))
        colour = "red" if rating.get("color") == "red" else "black"
        stars = f'<p class="stars-{colour}">{"★" * count}{"☆" * (5 - count)}</p>'
    return f"<blockquote><p>{text}</p><small>{reviewer}</small>{stars}</blockquote>"
