/* Flash's preview in Decap CMS: the article with the markup of the site's article page
   (layouts/article.html) and the site's stylesheet, whose address is in the page's
   <meta name="flash-stylesheet">; organisation names and theme labels come from
   <meta name="flash-labels">. Loaded after decap-cms.js, which provides the globals CMS,
   h (React.createElement) and createClass. */
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
  var labels = JSON.parse(meta("flash-labels") || "{}");
  var organisations = labels.organisations || {};
  var themes = labels.themes || {};
  function list(value) {
    return value && value.toJS ? value.toJS() : [];
  }
  var Article = createClass({
    render: function () {
      var entry = this.props.entry;
      var data = function (key) { return entry.getIn(["data", key]); };
      var organisation = data("organisation") || "";
      var image = data("image");
      var src = image && image.get("src");
      var links = list(data("links")).filter(function (link) { return link && link.url; });
      var tags = list(data("themes"));
      return h("main", { className: "main" },
        h("article", { className: "article org-" + organisation },
          h("header", { className: "article-head" },
            h("p", { className: "article-head__meta" },
              organisation ? h("span", { className: "org-badge org-" + organisation },
                organisations[organisation] || organisation) : null,
              data("location") ? " " : null,
              data("location") ? h("span", { className: "location" }, data("location")) : null),
            h("h1", { className: "article-head__title" }, data("title") || "Titre de l’article"),
            data("summary") ? h("p", { className: "lead" }, data("summary")) : null),
          src ? h("figure", { className: "figure" },
            h("img", { src: this.props.getAsset(src).toString(), alt: image.get("alt") || "" }),
            image.get("credit") ? h("figcaption", { className: "credit" }, image.get("credit"))
              : null) : null,
          h("div", { className: "prose" }, this.props.widgetFor("body")),
          links.length ? h("section", { className: "links-box" },
            h("h2", {}, "Pour aller plus loin"),
            h("ul", { className: "links" }, links.map(function (link, index) {
              return h("li", { key: index }, h("a", { href: link.url }, link.label || link.url));
            }))) : null,
          tags.length ? h("div", { className: "article__themes" },
            h("ul", { className: "tags" }, tags.map(function (slug) {
              return h("li", { key: slug }, h("span", { className: "tag" }, themes[slug] || slug));
            }))) : null));
    }
  });
  meta("flash-collections").split(" ").filter(Boolean).forEach(function (name) {
    CMS.registerPreviewTemplate(name, Article);
  });
})();
