/* Search page (search plugin): a small accessible interface over Pagefind's own API (pagefind.js).
 * Loaded only by search.html, deferred, no inline code: works under `script-src 'self'` (Pagefind's
 * WebAssembly additionally needs 'wasm-unsafe-eval'). Without JavaScript the page explains and links to the
 * archives; this script swaps that text for the form. Messages come from data-* attributes in the page
 * language. Results are built from text nodes only (Pagefind's <mark> highlights are rebuilt, never injected).
 *
 * The index is sharded (plugins/search): data-bundle is the bundle folder; its pagefind.js is the primary
 * bundle (the newest shard of every language, and Pagefind's runtime), and shards.json lists, per Pagefind
 * language (the lowercased <html lang>), the other shards to merge with pagefind.mergeIndex, newest first.
 * Only this page's language is merged: Pagefind would answer a bundle lacking it with another language.
 */
(function () {
  "use strict";
  var root = document.getElementById("app-search");
  if (!root) { return; }
  var FILTER_ORDER = ["section", "topic", "official", "year", "language"];
  var form = document.getElementById("app-search-form");
  var input = document.getElementById("app-search-input");
  var status = document.getElementById("app-search-status");
  var list = document.getElementById("app-search-results");
  var more = document.getElementById("app-search-more");
  var filterBox = document.getElementById("app-search-filters");
  var filterGrid = document.getElementById("app-search-filter-grid");
  var pageSize = parseInt(root.getAttribute("data-page-size"), 10) || 10;
  var pagefind = null;
  var selects = {};
  var current = { results: [], shown: 0, generation: 0 };

  function msg(name, values) {
    var text = root.getAttribute("data-msg-" + name) || "";
    Object.keys(values || {}).forEach(function (key) {
      text = text.split("{" + key + "}").join(String(values[key]));
    });
    return text;
  }

  function setStatus(text) { status.textContent = text; }

  function activeFilters() {
    var filters = {};
    Object.keys(selects).forEach(function (key) {
      if (selects[key].value) { filters[key] = selects[key].value; }
    });
    return filters;
  }

  /* Pagefind excerpts are escaped text with <mark> around matches: keep the text and the marks, nothing else. */
  function excerptNodes(html) {
    var parsed = new DOMParser().parseFromString("<p>" + html + "</p>", "text/html").body;
    var fragment = document.createDocumentFragment();
    parsed.querySelectorAll("p")[0].childNodes.forEach(function (node) {
      if (node.nodeName === "MARK") {
        var mark = document.createElement("mark");
        mark.textContent = node.textContent;
        fragment.appendChild(mark);
      } else {
        fragment.appendChild(document.createTextNode(node.textContent));
      }
    });
    return fragment;
  }

  function resultItem(data) {
    var item = document.createElement("li");
    item.className = "app-search__result";
    var heading = document.createElement("h2");
    heading.className = "app-search__result-title";
    var link = document.createElement("a");
    link.href = data.url;
    link.textContent = (data.meta && data.meta.title) || data.url;
    heading.appendChild(link);
    item.appendChild(heading);
    if (data.meta && data.meta.date) {
      var meta = document.createElement("p");
      meta.className = "app-search__result-meta";
      var time = document.createElement("time");
      time.dateTime = data.meta.date;
      time.textContent = data.meta.date;
      meta.appendChild(time);
      item.appendChild(meta);
    }
    var excerpt = document.createElement("p");
    excerpt.className = "app-search__result-excerpt";
    excerpt.appendChild(excerptNodes(data.excerpt || ""));
    item.appendChild(excerpt);
    return item;
  }

  function showMore(generation) {
    var slice = current.results.slice(current.shown, current.shown + pageSize);
    return Promise.all(slice.map(function (r) { return r.data(); })).then(function (datas) {
      if (generation !== current.generation) { return; }
      datas.forEach(function (data) { list.appendChild(resultItem(data)); });
      current.shown += slice.length;
      more.hidden = current.shown >= current.results.length;
    });
  }

  function rememberQuery(query) {
    var url = new URL(window.location.href);
    if (query) { url.searchParams.set("q", query); } else { url.searchParams.delete("q"); }
    window.history.replaceState(null, "", url.toString());
  }

  /* The words Pagefind searches for: split at spaces, and into Intl.Segmenter words in the languages Pagefind
   * segments (written without spaces). */
  function queryWords(query) {
    var lang = document.documentElement.getAttribute("lang") || "en";
    var words = [];
    if (/^(zh|ja|th)(-|$)/i.test(lang) && typeof Intl !== "undefined" && Intl.Segmenter) {
      Array.from(new Intl.Segmenter(lang, { granularity: "word" }).segment(query)).forEach(function (part) {
        if (part.isWordLike) { words.push(part.segment); }
      });
    } else {
      words = query.split(/\s+/);
    }
    return words.filter(function (word, index) { return word && words.indexOf(word) === index; });
  }

  /* Pagefind ignores a query word its index lacks, and each shard has its own words: a shard without
   * "airport" would answer "metro airport" with every page that says "metro". One index over the whole site
   * ignores only words no page has. So a several-word query keeps a result only if it has every word some
   * shard knows: each word is searched alone (no filters), where a shard lacking it answers nothing. */
  function searchShards(query, filters) {
    var words = query && !/^\s*".+"\s*$/.test(query) ? queryWords(query) : [];
    var searches = [pagefind.search(query || null, { filters: filters })];
    if (words.length > 1) {
      words.forEach(function (word) { searches.push(pagefind.search(word, {})); });
    }
    return Promise.all(searches).then(function (done) {
      var search = done[0];
      if (!search) { return search; }
      var results = search.results;
      done.slice(1).forEach(function (alone) {
        if (!alone || !alone.results.length) { return; }  // no page has the word: one index ignores it too
        var pages = {};
        alone.results.forEach(function (result) { pages[result.id] = true; });
        results = results.filter(function (result) { return pages[result.id]; });
      });
      return { results: results };
    });
  }

  function run() {
    var query = input.value.trim();
    var filters = activeFilters();
    var generation = ++current.generation;
    rememberQuery(query);
    if (!query && !Object.keys(filters).length) {
      list.textContent = "";
      more.hidden = true;
      setStatus("");
      return Promise.resolve();
    }
    return searchShards(query, filters).then(function (search) {
      if (generation !== current.generation || !search) { return; }
      list.textContent = "";
      current.results = search.results;
      current.shown = 0;
      var count = search.results.length;
      if (!count) {
        more.hidden = true;
        setStatus(msg("none", { query: query }));
        return;
      }
      return showMore(generation).then(function () {
        var kind = query ? "results" : "filtered";
        setStatus(msg(kind + (count === 1 ? "-one" : "-other"), { count: count, query: query }));
      });
    });
  }

  function sortedValues(key, values) {
    var names = Object.keys(values);
    if (key === "year") { return names.sort().reverse(); }
    return names.sort(function (a, b) { return a.localeCompare(b, document.documentElement.lang); });
  }

  function buildFilters(available) {
    FILTER_ORDER.forEach(function (key) {
      var values = available[key];
      if (!values || !Object.keys(values).length) { return; }
      var wrapper = document.createElement("div");
      wrapper.className = "app-search__filter";
      var label = document.createElement("label");
      label.htmlFor = "app-search-filter-" + key;
      label.textContent = root.getAttribute("data-label-" + key) || key;
      var select = document.createElement("select");
      select.id = "app-search-filter-" + key;
      select.name = key;
      var any = document.createElement("option");
      any.value = "";
      any.textContent = msg("any");
      select.appendChild(any);
      sortedValues(key, values).forEach(function (value) {
        var option = document.createElement("option");
        option.value = value;
        option.textContent = value + " (" + values[value] + ")";
        select.appendChild(option);
      });
      select.addEventListener("change", run);
      selects[key] = select;
      wrapper.appendChild(label);
      wrapper.appendChild(select);
      filterGrid.appendChild(wrapper);
    });
    filterBox.hidden = !Object.keys(selects).length;
  }

  /* No search here (the bundle or shards.json did not load, as from file://, or nothing is indexed in this page's
     language): offer the archives instead. */
  function unavailable() {
    form.hidden = true;
    document.getElementById("app-search-nojs-reason").hidden = true;
    document.getElementById("app-search-nojs").hidden = false;
    setStatus(msg("unavailable"));
    root.setAttribute("data-state", "unavailable");
  }

  document.getElementById("app-search-nojs").hidden = true;
  form.hidden = false;
  var folder = new URL(root.getAttribute("data-bundle"), document.baseURI).href;
  var baseUrl = root.getAttribute("data-base-path") || "/";
  var shards = [];
  var language = null;

  /* The manifest's entry for this page: its exact language, else the primary subtag (Pagefind's own rule). */
  function pickLanguage(languages) {
    var lang = (document.documentElement.getAttribute("lang") || "unknown").toLowerCase();
    if (Object.prototype.hasOwnProperty.call(languages, lang)) { return lang; }
    var primary = lang.split("-")[0];
    return Object.prototype.hasOwnProperty.call(languages, primary) ? primary : null;
  }

  /* Revalidated on every visit, like Pagefind's own entry file, so a new build's shards are never missed. */
  fetch(new URL("shards.json", folder).href, { cache: "no-cache" }).then(function (response) {
    if (!response.ok) { throw new Error("search: no shard manifest (" + response.status + ")"); }
    return response.json();
  }).then(function (manifest) {
    language = pickLanguage(manifest.languages || {});
    if (language === null) { throw new Error("search: nothing indexed in this language"); }
    shards = manifest.languages[language];
    return import(new URL("pagefind.js", folder).href);
  }).then(function (module) {
    pagefind = module;
    return pagefind.options({ baseUrl: baseUrl });
  }).then(function () {
    return pagefind.init();
  }).then(function () {
    return Promise.all(shards.map(function (path) {
      return pagefind.mergeIndex(new URL(path, folder).href, { language: language, baseUrl: baseUrl });
    }));
  }).then(function () {
    return pagefind.filters();
  }).then(function (available) {
    buildFilters(available || {});
    root.setAttribute("data-state", "ready");
    var timer = null;
    input.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(run, 300);
    });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      window.clearTimeout(timer);
      run();
    });
    more.addEventListener("click", function () {
      var first = list.children.length;
      showMore(current.generation).then(function () {
        var next = list.children[first];
        if (next) { next.querySelector("a").focus(); }
      });
    });
    var initial = new URL(window.location.href).searchParams.get("q");
    if (initial) {
      input.value = initial;
      return run();
    }
    return null;
  }).catch(unavailable);
})();
