/*
 * site-tools in Decap CMS (browser only): the bulletin preview and the save hook.
 *
 * Preview: the page as the site shows it (bulletin_page.py's structure inside the site's own
 * stylesheets), then the texts that reach phones, from the renderers ported in site-tools-cms.js.
 * Save: a bulletin without a date gets the town's current time (Europe/Rome, not the browser's zone);
 * a new bulletin gets its id (date + title, the file name too); empty optional fields are
 * dropped, so the file holds only what validation expects (an empty «area:» would be refused).
 */
(function (window) {
  'use strict';
  var CMS = window.CMS;
  var cms = window.SiteToolsCms;
  var town = window.SITE_TOOLS_TOWN;
  var h = window.h;
  if (!CMS || !cms || !town) {
    window.console.error('site-tools: Decap CMS, site-tools-cms.js or site-tools-town.js did not load');
    return;
  }
  cms.setMarkdownIt(window.markdownit);

  // Decap words a refused pattern as «Titolo non corrisponde allo schema: …»; ours say what to do.
  var italian = CMS.getLocale && CMS.getLocale('it');
  if (italian && italian.editor && italian.editor.editorControlPane) {
    italian.editor.editorControlPane.widget.regexPattern = '%{fieldLabel}: %{pattern}.';
    italian.mediaLibrary.mediaLibraryModal.upload = 'Carica un file';
    italian.mediaLibrary.mediaLibrary.fileTooLarge =
      'Il file è troppo grande: al massimo %{size} kB, come controlla la pubblicazione. ' +
      'Riducilo (per esempio a 1600 pixel di larghezza, JPEG) e riprova.';
  }
  var esc = cms.escapeHtml;
  var COLLECTION = 'notizie';

  // -- save hook -----------------------------------------------------------------------
  function isEmpty(value) {
    if (value === undefined || value === null) return true;
    if (typeof value === 'string') return value.trim() === '';
    if (typeof value.size === 'number') return value.size === 0; // Immutable List or Map
    return false;
  }

  function tidy(data) {
    data.keySeq()
      .toArray()
      .forEach(function (key) {
        var value = data.get(key);
        if (key === 'body') return;
        if (value && typeof value.keySeq === 'function' && key === 'event') {
          value = tidy(value);
          data = isEmpty(value) ? data.delete(key) : data.set(key, value);
        } else if (isEmpty(value)) {
          data = data.delete(key);
        }
      });
    return data;
  }

  CMS.registerEventListener({
    name: 'preSave',
    handler: function (args) {
      var entry = args.entry;
      if (entry.get('collection') !== COLLECTION) return undefined;
      var data = entry.get('data');
      var event = data.get('event');
      if (event && typeof event.get === 'function' && !isEmpty(tidy(event)) && isEmpty(event.get('start'))) {
        // Decap shows this message and saves nothing.
        throw new Error('Evento: manca l\u2019inizio. Scrivi quando comincia, oppure svuota i campi dell\u2019evento.');
      }
      if (isEmpty(data.get('date'))) {
        // The town's clock, as the hint says, whatever the clock of the editor's computer is set to.
        data = data.set('date', cms.nowText(Date.now(), town.timezone));
      }
      if (isEmpty(data.get('id'))) {
        data = data.set('id', cms.newId(data.get('date'), data.get('title'), town));
      }
      return tidy(data);
    },
  });

  // -- the page as the site shows it (site_tools/site/bulletin_page.py) ---------------------------
  var pageParser = window.markdownit('commonmark', { html: false }).enable(['table', 'strikethrough']);

  function bodyHtml(b, assetUrl) {
    var env = {};
    var tokens = pageParser.parse(b.body || '', env);
    tokens.forEach(function (token) {
      (token.children || []).forEach(function (child) {
        if (child.type === 'link_open') {
          child.attrSet('href', cms.absolute(child.attrGet('href') || '', b, town));
          child.attrSet('target', '_blank');
          child.attrSet('rel', 'noopener noreferrer');
        } else if (child.type === 'image') {
          child.attrSet('src', assetUrl(child.attrGet('src') || ''));
        }
      });
    });
    return pageParser.renderer.render(tokens, pageParser.options, env);
  }

  function admonition(kind, title, html) {
    return '<div class="admonition ' + kind + '"><p class="admonition-title">' + esc(title) + '</p><p>' + html + '</p></div>';
  }

  function siteLink(url, text) {
    return '<a href="' + esc(town.siteUrl + url, true) + '" target="_blank" rel="noopener noreferrer">' + text + '</a>';
  }

  function pageHtml(b, assetUrl) {
    var now = Date.now();
    var section = town.sections[b.type] || town.sections.notizia;
    var parts = [];
    parts.push(
      '<nav class="st-breadcrumb" aria-label="Percorso di navigazione">' +
        siteLink('', 'Home') + ' › ' + siteLink('novita/', 'Novità') + ' › ' +
        siteLink('novita/' + section[0] + '/', esc(section[1])) + ' › <span aria-current="page">' + esc(b.title) + '</span></nav>',
    );
    parts.push('<h1>' + esc(b.title || 'Titolo dell\u2019avviso') + '</h1>');
    var self = town.bulletins[b.id] || {};
    if (b.urgent && !self.cancelled && (b.expires === null || now < b.expires)) {
      parts.push(admonition('danger', 'Avviso urgente', 'Segui le indicazioni di questo avviso.'));
    }
    var earlier = town.bulletins[b.cancels || b.updates || ''];
    if (earlier) {
      var earlierDate = cms.parseDate(earlier.date, town.timezone, false);
      parts.push(
        admonition(
          'info',
          b.cancels ? 'Annullamento' : 'Aggiornamento',
          'Questo avviso ' + (b.cancels ? 'annulla' : 'aggiorna') + ' ' + siteLink(earlier.url, esc(earlier.title)) +
            ' del ' + esc(cms.formatIt(earlierDate, town, false)) + '.',
        ),
      );
    }
    parts.push('<p class="st-lead">' + esc(b.summary) + '</p>');
    parts.push(bodyHtml(b, assetUrl));
    if (b.event) {
      var where = b.event.location ? '<li><strong>Dove:</strong> ' + esc(b.event.location) + '</li>' : '';
      parts.push(
        '<h2 id="evento">Evento</h2><ul><li><strong>Quando:</strong> ' + esc(cms.eventWhen(b.event, town)) + '</li>' + where +
          '</ul><p><span class="md-button">Aggiungi al calendario</span></p>',
      );
    }
    var labels = {};
    town.categories.forEach(function (c) {
      labels[c.slug] = c.label;
    });
    var details = [];
    if (b.date !== null) details.push('<li><strong>Pubblicato:</strong> ' + esc(cms.formatIt(b.date, town)) + '</li>');
    details.push('<li><strong>Tipo:</strong> ' + esc(town.types[b.type] || b.type) + '</li>');
    details.push(
      '<li><strong>Categorie:</strong> ' +
        b.categories
          .map(function (slug) {
            return siteLink('categorie/' + slug + '/', esc(labels[slug] || slug));
          })
          .join(', ') + '</li>',
    );
    if (b.area) details.push('<li><strong>Zona:</strong> ' + esc(b.area) + '</li>');
    if (b.office) details.push('<li><strong>A cura di:</strong> ' + esc(b.office) + '</li>');
    if (b.expires !== null) {
      details.push('<li><strong>' + (b.expires <= now ? 'Scaduto' : 'Valido fino a') + ':</strong> ' + esc(cms.formatUntil(b.expires, town)) + '</li>');
    }
    parts.push('<h2 id="dettagli">Dettagli</h2><ul>' + details.join('') + '</ul>');
    return (
      '<div class="md-container"><main class="md-main"><div class="md-main__inner md-grid"><div class="md-content">' +
      '<article class="md-content__inner md-typeset">' + parts.join('\n') + '</article></div></div></main></div>'
    );
  }

  // -- the texts that reach phones -----------------------------------------------------------
  /** WhatsApp's own marks, shown as they look in the app (the text is escaped first). */
  function whatsappHtml(text) {
    return esc(text)
      .replace(/(^|[\s(])\*([^*\n]+)\*/g, '$1<strong>$2</strong>')
      .replace(/(^|[\s(])_([^_\n]+)_/g, '$1<em>$2</em>')
      .replace(/(^|[\s(])~([^~\n]+)~/g, '$1<del>$2</del>');
  }

  var TELEGRAM_TAGS = { B: 'b', I: 'i', U: 'u', S: 's', CODE: 'code', PRE: 'pre', BLOCKQUOTE: 'blockquote', A: 'a' };

  /** Telegram's HTML, rebuilt node by node: only its own tags and http(s) links survive. */
  function telegramHtml(html) {
    var doc = new window.DOMParser().parseFromString('<div>' + html + '</div>', 'text/html');
    function walk(node) {
      if (node.nodeType === 3) return esc(node.nodeValue);
      var out = '';
      node.childNodes.forEach(function (child) {
        out += walk(child);
      });
      var tag = TELEGRAM_TAGS[node.nodeName];
      if (!tag) return out;
      if (tag === 'a') {
        var href = node.getAttribute('href') || '';
        if (!/^https?:\/\//i.test(href)) return out;
        return '<a href="' + esc(href, true) + '" target="_blank" rel="noopener noreferrer">' + out + '</a>';
      }
      return '<' + tag + '>' + out + '</' + tag + '>';
    }
    return walk(doc.body.firstChild);
  }

  function count(text, max) {
    var n = Array.from(text).length;
    return '<p class="st-count' + (n > max ? ' st-over' : '') + '">' + n + ' caratteri su ' + max + '</p>';
  }

  function phonesHtml(b) {
    var texts = {
      whatsapp_list: cms.renderTemplate(b, town),
      whatsapp_channel: cms.renderChannelPost(b, town),
      telegram: cms.renderTelegram(b, town),
    };
    var routed = cms.channelsFor(b, town);
    var cards = [];
    Object.keys(town.channels).forEach(function (channel) {
      if (town.enabledChannels.indexOf(channel) < 0) return;
      var going = routed.indexOf(channel) >= 0;
      var body;
      if (channel === 'whatsapp_list') {
        var t = texts.whatsapp_list;
        body =
          '<div class="st-bubble st-wa">' + whatsappHtml(t.text) + '<div class="st-wa-footer">' + esc(t.footer) +
          '</div><div class="st-wa-button">' + esc(t.button) + '</div></div>' + count(t.text, town.limits.templateBodyMax);
      } else if (channel === 'whatsapp_channel') {
        body = '<div class="st-bubble st-wa">' + whatsappHtml(texts.whatsapp_channel) + '</div>';
      } else {
        body = texts.telegram
          .map(function (message) {
            return '<div class="st-bubble st-tg">' + telegramHtml(message) + '</div>';
          })
          .join('');
        if (texts.telegram.length > 1) body += '<p class="st-count">' + texts.telegram.length + ' messaggi</p>';
      }
      cards.push(
        '<section class="st-phone' + (going ? '' : ' st-not-sent') + '"><h3>' + esc(town.channels[channel]) +
          (going ? '' : ' — non previsto per questa categoria') + '</h3>' + body + '</section>',
      );
    });
    return (
      '<div class="md-typeset st-phones"><h2>Come arriva sui telefoni</h2>' +
      '<p>Anteprima dei messaggi, come li prepara la pubblicazione. Il link porta alla pagina qui sopra.</p>' +
      '<div class="st-phone-row">' + cards.join('') + '</div></div>'
    );
  }

  // -- registration -------------------------------------------------------------------------
  function contentRelative(path) {
    if (!path) return null;
    var prefix = town.contentDir + '/';
    return path.indexOf(prefix) === 0 ? path.slice(prefix.length) : path;
  }

  var BulletinPreview = window.createClass({
    render: function () {
      var props = this.props;
      var entry = props.entry;
      var b = cms.bulletin(entry.get('data'), town, contentRelative(entry.get('path')));
      var bodyField = props.fields && props.fields.find(function (f) {
        return f.get('name') === 'body';
      });
      function assetUrl(src) {
        if (!src || /^[a-z]+:/i.test(src)) return src;
        var asset = props.getAsset(src, bodyField);
        return asset ? String(asset) : src;
      }
      var html = pageHtml(b, assetUrl) + phonesHtml(b);
      return h('div', { className: 'st-preview', dangerouslySetInnerHTML: { __html: html } });
    },
  });

  JSON.parse(document.body.getAttribute('data-site-styles') || '[]').forEach(function (href) {
    CMS.registerPreviewStyle(href);
  });
  CMS.registerPreviewStyle('site-tools-editor.css');
  CMS.registerPreviewTemplate(COLLECTION, BulletinPreview);
  CMS.init(); // site-tools-town.js set CMS_MANUAL_INIT: everything above is in place before the editor starts
})(window);
