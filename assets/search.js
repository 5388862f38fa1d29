/* /recherche/: replaces the plain GET form (which works without JavaScript) with Pagefind UI,
   runs the search named by ?q=… and keeps the address in step, so a search can be shared and
   the Back button returns to it. Filters: ?organisation=…&theme=…&annee=… */
(function () {
  "use strict";
  var mount = document.querySelector("[data-search-ui]");
  var form = document.querySelector("[data-search-form]");
  if (!mount || !form || typeof window.PagefindUI !== "function") {
    return; // the plain form stays: nothing is lost
  }
  var FILTERS = { organisation: "Organisation", theme: "Thème", annee: "Année" };
  var params = new URLSearchParams(window.location.search);
  var NNBSP = "\u202f";
  var NBSP = "\u00a0";
  var translations = {
    placeholder: "Un mot, un lieu, une organisation…",
    clear_search: "Effacer",
    load_more: "Afficher plus de résultats",
    search_label: "Rechercher dans le Flash",
    filters_label: "Affiner",
    zero_results: "Aucun résultat pour «" + NNBSP + "[SEARCH_TERM]" + NNBSP + "»",
    many_results: "[COUNT] résultats pour «" + NNBSP + "[SEARCH_TERM]" + NNBSP + "»",
    one_result: "[COUNT] résultat pour «" + NNBSP + "[SEARCH_TERM]" + NNBSP + "»",
    total_zero_results: "Aucun résultat",
    total_one_result: "[COUNT] résultat",
    total_many_results: "[COUNT] résultats",
    alt_search: "Aucun résultat pour «" + NNBSP + "[SEARCH_TERM]" + NNBSP + "». Résultats pour «" +
      NNBSP + "[DIFFERENT_TERM]" + NNBSP + "»" + NBSP + ":",
    search_suggestion: "Aucun résultat pour «" + NNBSP + "[SEARCH_TERM]" + NNBSP +
      "». Essayez l’une de ces recherches" + NBSP + ":",
    searching: "Recherche de «" + NNBSP + "[SEARCH_TERM]" + NNBSP + "»…",
    results_label: "Résultats de la recherche",
    error_search: "La recherche a échoué. Rechargez la page pour réessayer.",
    filter_selected_one: "[COUNT] choisi",
    filter_selected_many: "[COUNT] choisis",
    input_hint: "Les résultats s’affichent au fil de la saisie.",
    loading: "Chargement…"
  };
  var ui;
  try {
    ui = new window.PagefindUI({
      element: "#" + mount.id,
      showImages: true,
      showSubResults: false,
      excerptLength: 30,
      resetStyles: false,
      openFilters: Object.keys(FILTERS).filter(function (name) {
        return params.getAll(name).some(Boolean);
      }).map(function (name) { return FILTERS[name]; }),
      translations: translations
    });
  } catch (error) {
    return;
  }
  // Pagefind's field only has a title: it takes over the label of the plain form, which goes.
  var input = mount.querySelector(".pagefind-ui__search-input");
  var label = form.querySelector("label");
  if (input && label) {
    input.id = "recherche-ui-q";
    label.htmlFor = input.id;
    mount.insertBefore(label, mount.firstChild);
  }
  form.remove();
  var notice = document.querySelector("[data-search-notice]");
  if (notice) {
    notice.remove();
  }

  var filters = {};
  Object.keys(FILTERS).forEach(function (name) {
    var values = params.getAll(name).filter(Boolean);
    if (values.length) {
      filters[FILTERS[name]] = values;
    }
  });
  if (Object.keys(filters).length) {
    ui.triggerFilters(filters);
  }
  var query = (params.get("q") || "").trim();
  if (query) {
    ui.triggerSearch(query);
  }

  // Keep ?q= in step with what is typed, without adding a history entry per keystroke.
  var timer = null;
  mount.addEventListener("input", function (event) {
    var target = event.target;
    if (!target || !target.classList || !target.classList.contains("pagefind-ui__search-input")) {
      return;
    }
    window.clearTimeout(timer);
    timer = window.setTimeout(function () {
      var next = new URLSearchParams(window.location.search);
      var value = target.value.trim();
      if (value) {
        next.set("q", value);
      } else {
        next.delete("q");
      }
      var search = next.toString();
      window.history.replaceState(null, "", window.location.pathname + (search ? "?" + search : ""));
    }, 400);
  });
})();
