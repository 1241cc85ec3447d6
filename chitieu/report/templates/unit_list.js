(function () {
  "use strict";
  var collator = new Intl.Collator("vi", {numeric: true, sensitivity: "base"});
  function fold(text) {
    return text.normalize("NFD").replace(/[\u0300-\u036f]/g, "").replace(/[đĐ]/g, "d").toLowerCase();
  }
  document.querySelectorAll("div.unit-list").forEach(function (box) {
    var table = box.querySelector("table.sortable");
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var keys = rows.map(function (row) { return fold(row.cells[0].textContent + " " + row.cells[1].textContent); });
    var input = box.querySelector("input.unit-search");
    var count = box.querySelector(".unit-count");
    var total = rows.length.toLocaleString("vi-VN");
    input.addEventListener("input", function () {
      var query = fold(input.value.trim());
      var shown = 0;
      rows.forEach(function (row, i) {
        var match = !query || keys[i].indexOf(query) >= 0;
        row.hidden = !match;
        shown += match ? 1 : 0;
      });
      count.textContent = "Hiển thị " + shown.toLocaleString("vi-VN") + " trên " + total + " dòng";
    });
    var heads = Array.prototype.slice.call(table.tHead.rows[0].cells);
    heads.forEach(function (th, col) {
      var button = th.querySelector("button");
      if (!button) { return; }
      button.addEventListener("click", function () {
        var numeric = th.classList.contains("num");
        var ascending = th.getAttribute("aria-sort") !== "ascending";
        heads.forEach(function (other) { other.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        var sign = ascending ? 1 : -1;
        function value(row) {
          var cell = row.cells[col];
          var raw = cell.getAttribute("data-value");
          if (numeric) { return raw === null || raw === "" ? null : parseFloat(raw); }
          return raw === null ? cell.textContent.trim() : raw;
        }
        var order = rows.map(function (row, i) { return [value(row), i, row]; });
        order.sort(function (a, b) {
          if (a[0] === null || b[0] === null) {
            return a[0] === b[0] ? a[1] - b[1] : (a[0] === null ? 1 : -1);
          }
          var d = numeric ? a[0] - b[0] : collator.compare(a[0], b[0]);
          return d ? sign * d : a[1] - b[1];
        });
        rows = order.map(function (item) { return item[2]; });
        keys = order.map(function (item) { return keys[item[1]]; });
        var fragment = document.createDocumentFragment();
        rows.forEach(function (row) { fragment.appendChild(row); });
        body.appendChild(fragment);
      });
    });
  });
}());
