import numpy as np

from sdc import derived
from sdc import status as st
from sdc.protect import ProtectedMeasure


def measure(values, statuses):
    codes = np.array([st.STATUS_NAMES.index(s) for s in statuses], dtype=np.int8)
    reasons = np.where(codes == st.SUPPRESSED, st.THRESHOLD, 0).astype(np.int8)
    published = np.where(codes == st.SUPPRESSED, np.nan, np.asarray(values, dtype=float))
    return ProtectedMeasure(published, codes, reasons)


def test_rate_per_thousand_with_status_propagation():
    suspects = measure([20, 30, 0, 12], ["safe", "perturbed", "suppressed", "safe"])
    inhabitants = measure([1000, 2000, 500, 0], ["safe", "safe", "safe", "safe"])
    rate = derived.ratio(suspects, inhabitants, per=1000)
    assert rate.published[:2].tolist() == [20.0, 15.0]
    assert [rate.cell(i)[1:] for i in range(4)] == [
        ("safe", None),
        ("perturbed", None),
        ("suppressed", "derived"),
        ("safe", None),
    ]
    assert rate.cell(2)[0] is None  # suppressed component: suppressed result
    assert rate.cell(3)[0] is None  # division by zero: undefined, nothing hidden


def test_share_index_change_and_mean():
    a = measure([25, 50], ["safe", "safe"])
    b = measure([100, 40], ["safe", "safe"])
    assert derived.share(a, b).published.tolist() == [25.0, 125.0]
    assert derived.index(a, b).published.tolist() == [25.0, 125.0]
    assert derived.change(a, b).published.tolist() == [-75.0, 25.0]
    assert derived.mean(b, a).published.tolist() == [4.0, 0.8]


def test_suppressed_denominator_suppresses_even_when_numerator_is_zero():
    zero = measure([0], ["safe"])
    hidden = measure([0], ["suppressed"])
    out = derived.ratio(zero, hidden)
    assert out.cell(0) == (None, "suppressed", "derived")


def test_an_undefined_result_is_safe_even_over_perturbed_components():
    # a perturbed count over a published 0, and 0 / 0 of perturbed parts: no figure exists,
    # so nothing in it is perturbed (the status says "no value, nothing hidden")
    numerator = measure([12, 0, 7], ["perturbed", "perturbed", "perturbed"])
    denominator = measure([0, 0, 0], ["safe", "perturbed", "suppressed"])
    out = derived.ratio(numerator, denominator)
    assert [out.cell(i) for i in range(3)] == [
        (None, "safe", None),
        (None, "safe", None),
        (None, "suppressed", "derived"),
    ]
    reference = measure([5, 5, 5], ["perturbed", "perturbed", "perturbed"])
    index = derived.index(derived.share(numerator, denominator), reference)
    assert index.cell(0) == (None, "safe", None)
