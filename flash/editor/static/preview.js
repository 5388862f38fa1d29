/* Flash's preview in Decap CMS: the article as the site shows it, with the site's stylesheet
   (its address is in the page's <meta name="flash-stylesheet">). Loaded after decap-cms.js,
   which provides the globals CMS, h (React.createElement) and createClass. */
(function () {
  "use strict";
  function meta(name) {
    var element = document.querySelector('meta[name="' + name + '"]');
    return element ? element.getAttribute("content") : "";
  }
  var stylesheet = meta("flash-stylesheet");
  if (stylesheet) {
    CMS.registerPreviewStyle(stylesheet);
  }
  var Article = createClass({
    render: function () {
      var entry = this.props.entry;
      var data = function (key) { return entry.getIn(["data", key]); };
      var image = data("image");
      var src = image && image.get("src");
      return h("main", {},
        h("article", { className: "article" },
          h("header", { className: "article__head" },
            h("h1", {}, data("title") || "Titre de l’article"),
            data("location") ? h("p", { className: "article__meta" }, data("location")) : null,
            data("summary") ? h("p", { className: "article__lead" }, data("summary")) : null),
          src ? h("figure", { className: "article__figure" },
            h("img", { src: this.props.getAsset(src).toString(), alt: image.get("alt") || "" }),
            image.get("credit") ? h("figcaption", {}, image.get("credit")) : null) : null,
          h("div", { className: "prose" }, this.props.widgetFor("body"))));
    }
  });
  meta("flash-collections").split(" ").filter(Boolean).forEach(function (name) {
    CMS.registerPreviewTemplate(name, Article);
  });
})();
