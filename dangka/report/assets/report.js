// Search and filters of the dangka HTML report: everything happens in the page, nothing is fetched.
(function () {
  "use strict";
  var search = document.getElementById("search");
  var category = document.getElementById("filter-category");
  var severity = document.getElementById("filter-severity");
  var village = document.getElementById("filter-village");
  var withFindings = document.getElementById("filter-with-findings");
  var counter = document.getElementById("shown-count");
  var nothingShown = document.getElementById("nothing-shown");
  var households = Array.prototype.slice.call(document.querySelectorAll("article.household"));
  // Search text is read once: the page does not change after it loads.
  var texts = households.map(function (household) { return household.textContent.toLowerCase(); });

  function matchingFindings(household) {
    var count = 0;
    household.querySelectorAll("li.finding").forEach(function (finding) {
      var fits = (!category.value || finding.getAttribute("data-category") === category.value) &&
                 (!severity.value || finding.getAttribute("data-severity") === severity.value);
      finding.hidden = !fits;
      if (fits) { count += 1; }
    });
    return count;
  }

  function apply() {
    var words = search.value.trim().toLowerCase().split(/\s+/).filter(Boolean);
    // A household without findings only belongs to the list while no finding filter is set.
    var needsFinding = Boolean(category.value || severity.value || withFindings.checked);
    var shown = 0;
    households.forEach(function (household, index) {
      var visible = matchingFindings(household) > 0 || !needsFinding;
      visible = visible && (!village.value || household.getAttribute("data-village") === village.value);
      visible = visible && words.every(function (word) { return texts[index].indexOf(word) !== -1; });
      household.hidden = !visible;
      if (visible) { shown += 1; }
    });
    counter.textContent = "显示 " + shown + " / " + households.length + " 户";
    nothingShown.hidden = shown > 0;
  }

  [search, category, severity, village, withFindings].forEach(function (control) {
    control.addEventListener("input", apply);
    control.addEventListener("change", apply);
  });
  apply();
})();
