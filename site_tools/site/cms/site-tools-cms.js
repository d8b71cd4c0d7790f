/*
 * site-tools for Decap CMS: the previews and the save hook of the web editor at /admin/.
 *
 * The phone texts are a port of site_tools/render (whatsapp_template.py, channel_post.py,
 * telegram.py, common.py, links.py), site_tools/markdown/text.py and the date rules of
 * site_tools/content/dates.py. tests/test_cms.py runs this file under Node on every demo
 * bulletin and compares each text with the Python renderers' output, character for character.
 * The town's data and every fixed word (template body, labels, months, limits) come from
 * site-tools-town.js, generated from the Python sources at build time: no copy lives here.
 *
 * In the browser it defines window.SiteToolsCms, which site-tools-editor.js registers with
 * Decap CMS (previews, preSave hook); under Node it exports the same functions.
 */
(function (root, factory) {
  'use strict';
  var api = factory();
  if (typeof module === 'object' && module.exports) {
    module.exports = api;
  } else {
    root.SiteToolsCms = api;
  }
})(typeof window !== 'undefined' ? window : globalThis, function () {
  'use strict';

  var markdownItFactory = typeof markdownit === 'function' ? markdownit : null;
  var parserCache = null;

  function setMarkdownIt(factory) {
    markdownItFactory = factory;
    parserCache = null;
  }

  // site_tools/markdown/scan.py parser(): CommonMark, raw HTML kept as tokens, tables, strikethrough.
  function parser() {
    if (!parserCache) {
      parserCache = markdownItFactory('commonmark', { html: true }).enable(['table', 'strikethrough']);
    }
    return parserCache;
  }

  // -- text helpers ---------------------------------------------------------------
  var WHITESPACE = /[\s\u001c-\u001f\u0085]+/;

  /** Python's " ".join(text.split()). */
  function normalize(text) {
    return String(text)
      .split(WHITESPACE)
      .filter(function (w) {
        return w !== '';
      })
      .join(' ');
  }

  function codePoints(text) {
    return Array.from(text);
  }

  /** Python's len(): code points, not UTF-16 units. */
  function pyLen(text) {
    return codePoints(text).length;
  }

  function pySlice(text, end) {
    return codePoints(text).slice(0, end).join('');
  }

  function escapeHtml(text, quote) {
    var out = String(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
    if (quote) out = out.replace(/"/g, '&quot;').replace(/'/g, '&#x27;');
    return out;
  }

  function unescapeHtml(text) {
    return text.replace(/&(#x[0-9a-fA-F]+|#\d+|amp|lt|gt|quot|apos|nbsp);/g, function (all, name) {
      if (name[0] === '#') {
        var code = name[1] === 'x' ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10);
        return String.fromCodePoint(code);
      }
      return { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0' }[name];
    });
  }

  // -- dates (site_tools/content/dates.py) ---------------------------------------
  var ISO =
    /^(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?\s*(Z|[+-]\d{2}:?\d{2})?)?$/;
  var IT = /^(\d{1,2})\/(\d{1,2})\/(\d{4})(?:\s+(?:ore\s+)?(\d{1,2})[:.](\d{2}))?$/;

  function zoneOffsetMinutes(epochMs, timeZone) {
    var parts = wallClock(epochMs, timeZone);
    var asUtc = Date.UTC(parts.year, parts.month - 1, parts.day, parts.hour, parts.minute, parts.second);
    return Math.round((asUtc - Math.floor(epochMs / 1000) * 1000) / 60000);
  }

  var formatters = {};
  function wallClock(epochMs, timeZone) {
    var f = formatters[timeZone];
    if (!f) {
      f = formatters[timeZone] = new Intl.DateTimeFormat('en-GB', {
        timeZone: timeZone,
        hourCycle: 'h23',
        year: 'numeric',
        month: 'numeric',
        day: 'numeric',
        hour: 'numeric',
        minute: 'numeric',
        second: 'numeric',
      });
    }
    var out = {};
    f.formatToParts(new Date(epochMs)).forEach(function (p) {
      if (p.type !== 'literal') out[p.type] = parseInt(p.value, 10);
    });
    return out;
  }

  /** Wall-clock time in a zone → epoch milliseconds (as Python's datetime(..., tzinfo=ZoneInfo)). */
  function fromWallClock(y, m, d, hh, mm, ss, timeZone) {
    var guess = Date.UTC(y, m - 1, d, hh, mm, ss);
    var offset = zoneOffsetMinutes(guess, timeZone);
    var result = guess - offset * 60000;
    var again = zoneOffsetMinutes(result, timeZone);
    return again === offset ? result : guess - again * 60000;
  }

  /** A frontmatter date → epoch ms, or null when validation would refuse it. */
  function parseDate(value, timeZone, endOfDay) {
    if (value instanceof Date) return value.getTime();
    if (typeof value !== 'string' || !value.trim()) return null;
    var text = value.trim();
    var iso = ISO.exec(text);
    var it = iso ? null : IT.exec(text);
    if (!iso && !it) return null;
    var y, m, d, hh, mm, ss, zone;
    if (iso) {
      y = +iso[1];
      m = +iso[2];
      d = +iso[3];
      hh = iso[4];
      mm = iso[5];
      ss = iso[6];
      zone = iso[7];
    } else {
      d = +it[1];
      m = +it[2];
      y = +it[3];
      hh = it[4];
      mm = it[5];
    }
    if (m < 1 || m > 12) return null;
    var last = new Date(Date.UTC(y, m, 0)).getUTCDate();
    if (d < 1 || d > last) return null;
    if (hh === undefined) {
      if (endOfDay) {
        var next = new Date(Date.UTC(y, m - 1, d + 1));
        return fromWallClock(next.getUTCFullYear(), next.getUTCMonth() + 1, next.getUTCDate(), 0, 0, 0, timeZone);
      }
      return fromWallClock(y, m, d, 0, 0, 0, timeZone);
    }
    var H = +hh,
      M = +mm,
      S = ss ? +ss : 0;
    if (H > 23 || M > 59 || S > 59) return null;
    if (zone) {
      var offset = 0;
      if (zone !== 'Z') {
        var digits = zone.slice(1).replace(':', '');
        offset = (zone[0] === '+' ? 1 : -1) * (parseInt(digits.slice(0, 2), 10) * 60 + parseInt(digits.slice(2), 10));
      }
      return Date.UTC(y, m - 1, d, H, M, S) - offset * 60000;
    }
    return fromWallClock(y, m, d, H, M, S, timeZone);
  }

  function pad(n) {
    return (n < 10 ? '0' : '') + n;
  }

  /** dates.format_day: "domenica 22 novembre 2026"; the first of the month is "1º", as Italian writes it. */
  function formatDay(y, m, d, town) {
    var weekday = (new Date(Date.UTC(y, m - 1, d)).getUTCDay() + 6) % 7;
    return town.weekdays[weekday] + ' ' + (d === 1 ? '1º' : d) + ' ' + town.months[m - 1] + ' ' + y;
  }

  /** dates.format_it: "venerdì 20 novembre 2026, ore 08:30" in the town's zone. */
  function formatIt(epochMs, town, withTime) {
    var w = wallClock(epochMs, town.timezone);
    var text = formatDay(w.year, w.month, w.day, town);
    if (withTime !== false && (w.hour || w.minute)) text += ', ore ' + pad(w.hour) + ':' + pad(w.minute);
    return text;
  }

  /** dates.format_until: a midnight (an expiry written as a date alone) is shown as the day before it. */
  function formatUntil(epochMs, town) {
    var w = wallClock(epochMs, town.timezone);
    if (w.hour || w.minute || w.second) return formatIt(epochMs, town);
    var last = new Date(Date.UTC(w.year, w.month - 1, w.day - 1));
    return formatDay(last.getUTCFullYear(), last.getUTCMonth() + 1, last.getUTCDate(), town);
  }

  // -- the bulletin, from the form's data (content/frontmatter.py, content/bulletin.py) ---------
  var DATE_PREFIX = /^\d{4}-\d{2}-\d{2}-/;

  function list(value) {
    if (value === undefined || value === null) return [];
    if (typeof value.toJS === 'function') value = value.toJS();
    return Array.isArray(value) ? value : [value];
  }

  function plain(value) {
    if (value && typeof value.toJS === 'function') return value.toJS();
    return value;
  }

  function optionalText(value) {
    if (value === undefined || value === null) return null;
    var text = normalize(value);
    return text === '' ? null : text;
  }

  function stemOf(path) {
    var name = String(path).split('/').pop();
    return name.replace(/\.md$/, '');
  }

  /**
   * data: the frontmatter (and body) as a plain object or an Immutable Map;
   * path: the file's path relative to content/ ("notizie/2026/x.md"), null for a new bulletin.
   */
  function bulletin(data, town, path) {
    data = plain(data) || {};
    var tz = town.timezone;
    var id = data.id || newId(data.date, data.title, town);
    var stem = path ? stemOf(path) : id;
    // As the site: the address comes from the id (renaming the file keeps it), not from the file's name.
    var slug = data.slug || String(data.id || stem).replace(DATE_PREFIX, '');
    var date = parseDate(data.date, tz, false);
    var event = null;
    var rawEvent = plain(data.event);
    if (rawEvent && rawEvent.start) {
      var start = parseDate(rawEvent.start, tz, false);
      if (start !== null) {
        event = {
          start: start,
          end: rawEvent.end ? parseDate(rawEvent.end, tz, true) : null,
          location: rawEvent.location ? String(rawEvent.location) : null,
        };
      }
    }
    var b = {
      id: id,
      path: path || town.bulletinsDir + '/' + (date === null ? 'nuovo' : wallClock(date, tz).year) + '/' + id + '.md',
      title: normalize(data.title || ''),
      summary: normalize(data.summary || ''),
      date: date,
      categories: list(data.categories).map(String),
      type: data.type || 'notizia',
      urgent: data.priority === 'urgent',
      expires: data.expires ? parseDate(data.expires, tz, true) : null,
      event: event,
      area: optionalText(data.area),
      office: optionalText(data.office),
      updates: data.updates || null,
      cancels: data.cancels || null,
      body: data.body || '',
      slug: slug,
      channels: data.channels === undefined || data.channels === null || data.channels === 'all' ? null : list(data.channels),
    };
    if (date !== null) {
      var w = wallClock(date, tz);
      b.urlPath = town.bulletinsDir + '/' + w.year + '/' + pad(w.month) + '/' + slug + '/';
    } else {
      b.urlPath = town.bulletinsDir + '/';
    }
    return b;
  }

  /** The id (and file name) of a new bulletin: its date and its title, as `site-tools new` names files. */
  function slugify(text, maxLength) {
    var words = String(text || '')
      .normalize('NFKD')
      .replace(/[\u0300-\u036f]/g, '')
      .toLowerCase()
      .replace(/['’]+/g, '-')
      .replace(/[^a-z0-9]+/g, '-')
      .split('-')
      .filter(function (w) {
        return w !== '';
      });
    // As python-slugify's max_length with word_boundary: a word that does not fit is skipped.
    var out = '';
    for (var i = 0; i < words.length; i++) {
      var next = out ? out + '-' + words[i] : words[i];
      if (next.length <= maxLength) out = next;
    }
    return out || words.join('-').slice(0, maxLength).replace(/-+$/, '');
  }

  /** «2026-11-20 08:30»: the wall-clock time in the town's zone at epochMs (the form's date format), not the browser's. */
  function nowText(epochMs, timeZone) {
    var p = wallClock(epochMs, timeZone);
    function two(n) {
      return (n < 10 ? '0' : '') + n;
    }
    return p.year + '-' + two(p.month) + '-' + two(p.day) + ' ' + two(p.hour) + ':' + two(p.minute);
  }

  function newId(dateText, title, town) {
    var day = String(dateText || '').trim().slice(0, 10);
    if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) day = '';
    var slug = slugify(title, town.limits.slugMax) || 'avviso';
    var id = (day ? day + '-' : '') + slug;
    return id.slice(0, town.limits.idMax).replace(/-+$/, '');
  }

  // -- render/common.py, render/links.py --------------------------------------------
  function statusLabels(b) {
    var labels = [];
    if (b.cancels) labels.push(['❌', 'ANNULLATO / REVOCATO']);
    else if (b.updates) labels.push(['🔄', 'AGGIORNAMENTO']);
    if (b.urgent) labels.push(['🔴', 'URGENTE']);
    return labels;
  }

  /** render.common.event_when: "sabato 21 novembre 2026, dalle ore 09:30 alle ore 12:30", or a span. */
  function eventWhen(event, town) {
    var s = wallClock(event.start, town.timezone);
    if (event.end === null || event.end === undefined) return formatIt(event.start, town);
    var e = wallClock(event.end, town.timezone);
    var sameDay = s.year === e.year && s.month === e.month && s.day === e.day;
    if (!e.hour && !e.minute && !e.second && event.end > event.start) {
      // An end written as a date alone is the end of that day: show that day, not the midnight after it.
      var last = wallClock(event.end - 86400000, town.timezone);
      if (last.year === s.year && last.month === s.month && last.day === s.day) return formatIt(event.start, town);
      return span(formatIt(event.start, town), formatDay(last.year, last.month, last.day, town));
    }
    if (sameDay) {
      var day = formatDay(s.year, s.month, s.day, town);
      if (!s.hour && !s.minute && !s.second) return day + ', fino alle ore ' + pad(e.hour) + ':' + pad(e.minute);
      return day + ', dalle ore ' + pad(s.hour) + ':' + pad(s.minute) + ' alle ore ' + pad(e.hour) + ':' + pad(e.minute);
    }
    return span(formatIt(event.start, town), formatIt(event.end, town));
  }

  function span(start, end) {
    return start.indexOf(', ore ') >= 0 ? 'da ' + start + ', a ' + end : 'da ' + start + ' a ' + end;
  }

  function pageUrl(b, town) {
    return town.siteUrl + b.urlPath;
  }

  function normpath(path) {
    var out = [];
    path.split('/').forEach(function (part) {
      if (part === '' || part === '.') return;
      if (part === '..') {
        if (out.length && out[out.length - 1] !== '..') out.pop();
        else out.push('..');
      } else out.push(part);
    });
    return out.join('/');
  }

  function absolute(href, b, town) {
    href = String(href);
    if (/^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(href) || href.indexOf('//') === 0) return href;
    if (href[0] === '#') return pageUrl(b, town) + href;
    if (href[0] === '/') return town.siteUrl + href.replace(/^\/+/, '');
    var hash = href.indexOf('#');
    var fragment = hash >= 0 && hash < href.length - 1 ? '#' + href.slice(hash + 1) : '';
    var rest = hash >= 0 ? href.slice(0, hash) : href;
    var query = rest.indexOf('?');
    var pathPart = query >= 0 ? rest.slice(0, query) : rest;
    var folder = b.path.split('/').slice(0, -1).join('/');
    var target = normpath(folder + '/' + pathPart);
    if (Object.prototype.hasOwnProperty.call(town.pages, target)) return town.siteUrl + town.pages[target] + fragment;
    if (target.indexOf('..') === 0) return pageUrl(b, town);
    var rel = target;
    if (/\.md$/.test(rel)) {
      rel = rel.slice(0, -3);
      rel = rel === 'index' || rel === 'README' ? '' : rel.replace(/\/index$/, '') + '/';
    }
    return town.siteUrl + rel + fragment;
  }

  // -- markdown/text.py --------------------------------------------------------------
  var TELEGRAM = {
    bold: ['<b>', '</b>'],
    italic: ['<i>', '</i>'],
    strike: ['<s>', '</s>'],
    code: ['<code>', '</code>'],
    pre: ['<pre>', '</pre>'],
    quote: ['<blockquote>', '</blockquote>'],
    escape: function (text) {
      return escapeHtml(text, false);
    },
    link: function (text, url) {
      return '<a href="' + escapeHtml(url, true) + '">' + (text || escapeHtml(url, false)) + '</a>';
    },
    bullet: '• ',
  };
  var MARKS = {
    strong_open: ['bold', 0],
    strong_close: ['bold', 1],
    em_open: ['italic', 0],
    em_close: ['italic', 1],
    s_open: ['strike', 0],
    s_close: ['strike', 1],
  };

  function inline(token, style, toAbsolute) {
    var out = [];
    var links = [];
    (token.children || []).forEach(function (child) {
      var t = child.type;
      if (t === 'text') out.push(style.escape(child.content));
      else if (t === 'softbreak') out.push(' ');
      else if (t === 'hardbreak') out.push('\n');
      else if (MARKS[t]) out.push(style[MARKS[t][0]][MARKS[t][1]]);
      else if (t === 'code_inline') out.push(style.code[0] + style.escape(child.content) + style.code[1]);
      else if (t === 'link_open') links.push([out.length, toAbsolute(String(child.attrGet('href') || ''))]);
      else if (t === 'link_close' && links.length) {
        var open = links.pop();
        var text = out.slice(open[0]).join('');
        out.length = open[0];
        out.push(style.link(text, open[1]));
      } else if (t === 'image') {
        var alt = child.content || 'immagine';
        out.push(style.link(style.escape(alt), toAbsolute(String(child.attrGet('src') || ''))));
      }
    });
    return out.join('').trim();
  }

  function renderMarkdown(body, style, toAbsolute) {
    var tokens = parser().parse(body, {});
    var blocks = [];
    var listLines = [];
    var stack = [];
    var quoteDepth = 0;
    for (var i = 0; i < tokens.length; i++) {
      var tok = tokens[i];
      var kind = tok.type;
      if (kind === 'bullet_list_open' || kind === 'ordered_list_open') {
        if (!stack.length) listLines = [];
        stack.push([kind === 'ordered_list_open', parseInt(tok.attrGet('start') || '1', 10) - 1]);
      } else if (kind === 'bullet_list_close' || kind === 'ordered_list_close') {
        stack.pop();
        if (!stack.length && listLines.length) blocks.push(listLines.join('\n'));
      } else if (kind === 'list_item_open') {
        stack[stack.length - 1][1] += 1;
      } else if (kind === 'blockquote_open') quoteDepth += 1;
      else if (kind === 'blockquote_close') quoteDepth -= 1;
      else if (kind === 'heading_open') {
        blocks.push(style.bold[0] + inline(tokens[i + 1], style, toAbsolute) + style.bold[1]);
        i += 2;
      } else if (kind === 'inline') {
        var text = inline(tok, style, toAbsolute);
        if (quoteDepth) text = style.quote[0] + text + style.quote[1];
        if (stack.length) {
          var top = stack[stack.length - 1];
          var indent = new Array(stack.length).join('  ');
          listLines.push(top[0] ? indent + top[1] + '. ' + text : indent + style.bullet + text);
        } else if (text.trim()) blocks.push(text);
      } else if (kind === 'fence' || kind === 'code_block') {
        blocks.push(style.pre[0] + style.escape(tok.content.replace(/\n+$/, '')) + style.pre[1]);
      }
    }
    return blocks;
  }

  // -- render/whatsapp_template.py ---------------------------------------------------------
  function hydrate(body, values) {
    return body.replace(/\{\{(\w+)\}\}/g, function (all, key) {
      return Object.prototype.hasOwnProperty.call(values, key) ? values[key] : all;
    });
  }

  function cleanParam(text, limit) {
    text = text.replace(/[\r\n\t\v\f]+/g, ' ').replace(/ {2,}/g, ' ').trim();
    if (pyLen(text) > limit) text = pySlice(text, limit - 1).replace(/\s+$/, '') + '…';
    return text;
  }

  function renderTemplate(b, town) {
    var tpl = town.template;
    var empty = {};
    tpl.params.forEach(function (p) {
      empty[p] = '';
    });
    var fixed = pyLen(hydrate(tpl.body, empty));
    var room = town.limits.templateBodyMax - fixed;
    var prefix = (b.cancels ? tpl.cancelPrefix : '') + (b.urgent ? tpl.urgentPrefix : '');
    var title = cleanParam(prefix + b.title, Math.min(pyLen(prefix) + town.limits.titleMax, Math.floor(room / 3)));
    var summary = cleanParam(b.summary, Math.min(town.limits.summaryMax, room - pyLen(title)));
    var footer = pySlice(tpl.footer.replace('{off}', town.offMessage), town.limits.templateFooterMax);
    return {
      text: hydrate(tpl.body, { titolo: title, sintesi: summary }),
      footer: footer,
      button: tpl.buttonLabel,
      url: town.siteUrl + b.urlPath,
    };
  }

  // -- render/channel_post.py -----------------------------------------------------------------
  function renderChannelPost(b, town) {
    var lines = statusLabels(b).map(function (l) {
      return l[0] + ' *' + l[1] + '*';
    });
    lines.push('*' + normalize(b.title) + '*');
    lines.push('');
    lines.push(normalize(b.summary));
    var details = [];
    if (b.event) {
      details.push('🗓 _' + eventWhen(b.event, town) + '_');
      if (b.event.location) details.push('📍 ' + normalize(b.event.location));
    }
    if (b.area) details.push('📍 Zona: ' + normalize(b.area));
    if (b.expires !== null) details.push('⏳ Valido fino a ' + formatUntil(b.expires, town));
    if (details.length) {
      lines.push('');
      lines.push.apply(lines, details);
    }
    lines.push('');
    lines.push('👉 ' + pageUrl(b, town));
    return pySlice(lines.join('\n'), town.limits.whatsappTextMax);
  }

  // -- render/telegram.py ------------------------------------------------------------------------
  function visibleLength(fragment) {
    return unescapeHtml(fragment.replace(/<[^>]+>/g, '')).length; // UTF-16 units, as Telegram counts
  }

  function fit(block, limit) {
    if (visibleLength(block) <= limit) return [block];
    var words = unescapeHtml(block.replace(/<[^>]+>/g, '')).split(' ');
    var pieces = [];
    var line = '';
    words.forEach(function (word) {
      var candidate = line ? line + ' ' + word : word;
      if (visibleLength(escapeHtml(candidate, false)) > limit && line) {
        pieces.push(escapeHtml(line, false));
        line = word;
      } else line = candidate;
    });
    if (line) pieces.push(escapeHtml(pySlice(line, limit), false));
    return pieces;
  }

  function pack(blocks, limit) {
    var messages = [];
    var current = [];
    var size = 0;
    blocks.forEach(function (block) {
      fit(block, limit).forEach(function (piece) {
        var length = visibleLength(piece) + (current.length ? 2 : 0);
        if (current.length && size + length > limit) {
          messages.push(current.join('\n\n'));
          current = [];
          size = 0;
          length -= 2;
        }
        current.push(piece);
        size += length;
      });
    });
    if (current.length) messages.push(current.join('\n\n'));
    return messages;
  }

  function renderTelegram(b, town, limit) {
    var esc = TELEGRAM.escape;
    var head = statusLabels(b).map(function (l) {
      return l[0] + ' <b>' + l[1] + '</b>';
    });
    head.push('<b>' + esc(b.title) + '</b>');
    var blocks = [head.join('\n'), '<i>' + esc(b.summary) + '</i>'];
    if (b.event) {
      var where = b.event.location ? '\n📍 ' + esc(b.event.location) : '';
      blocks.push('🗓 ' + esc(eventWhen(b.event, town)) + where);
    }
    if (b.area) blocks.push('📍 Zona: ' + esc(b.area));
    blocks.push.apply(
      blocks,
      renderMarkdown(b.body, TELEGRAM, function (href) {
        return absolute(href, b, town);
      }),
    );
    blocks.push('👉 <a href="' + escapeHtml(pageUrl(b, town), true) + '">Leggi sul sito del Comune</a>');
    return pack(blocks, limit || town.limits.telegramTextMax);
  }

  /** delivery/plan.py channels_for: the town's channels, by category (all of them when urgent). */
  function channelsFor(b, town) {
    var routed = {};
    if (b.urgent) {
      town.enabledChannels.forEach(function (c) {
        routed[c] = true;
      });
    } else {
      town.categories.forEach(function (c) {
        if (b.categories.indexOf(c.slug) >= 0) {
          c.channels.forEach(function (name) {
            routed[name] = true;
          });
        }
      });
    }
    return Object.keys(town.channels).filter(function (c) {
      return town.enabledChannels.indexOf(c) >= 0 && routed[c] && (b.channels === null || b.channels.indexOf(c) >= 0);
    });
  }

  /** Every text that will reach phones, for one bulletin (what the tests compare with Python). */
  function phoneTexts(data, town, path) {
    var b = bulletin(data, town, path);
    return {
      routed: channelsFor(b, town),
      whatsapp_list: renderTemplate(b, town),
      whatsapp_channel: renderChannelPost(b, town),
      telegram: renderTelegram(b, town),
    };
  }

  return {
    setMarkdownIt: setMarkdownIt,
    normalize: normalize,
    parseDate: parseDate,
    formatIt: formatIt,
    formatUntil: formatUntil,
    bulletin: bulletin,
    newId: newId,
    nowText: nowText,
    slugify: slugify,
    absolute: absolute,
    renderMarkdown: renderMarkdown,
    renderTemplate: renderTemplate,
    renderChannelPost: renderChannelPost,
    renderTelegram: renderTelegram,
    phoneTexts: phoneTexts,
    channelsFor: channelsFor,
    escapeHtml: escapeHtml,
    statusLabels: statusLabels,
    eventWhen: eventWhen,
    wallClock: wallClock,
    pageUrl: pageUrl,
  };
});
