"""The labelled-crops folder layout shared by the simulator, harvesting and training."""

from smartcart.crops import read_labels, write_labels


def test_write_append_and_read_back(tmp_path):
    write_labels(tmp_path, [("0_0.jpg", "lemon"), ("0_1.jpg", "lime, organic")])
    write_labels(tmp_path, [("1_0.jpg", "pear")], append=True)
    assert read_labels(tmp_path) == [
        (tmp_path / "images" / "0_0.jpg", "lemon"),
        (tmp_path / "images" / "0_1.jpg", "lime, organic"),  # quoted, not split
        (tmp_path / "images" / "1_0.jpg", "pear"),
    ]
    write_labels(tmp_path, [("2_0.jpg", "kiwi")])  # not appending: a new folder's labels
    assert [sku for _, sku in read_labels(tmp_path)] == ["kiwi"]
