// Runs the editor's JavaScript renderers (site_tools/site/cms/site-tools-cms.js) on bulletins given as
// JSON on stdin: {"town": {...}, "bulletins": [{"path": ..., "data": {...}}]}; prints their texts as JSON.
'use strict';
const path = require('path');
const repo = path.resolve(__dirname, '..');
const cms = require(path.join(repo, 'site_tools/site/cms/site-tools-cms.js'));
cms.setMarkdownIt(require(path.join(repo, 'node_modules/markdown-it')));
let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', chunk => (input += chunk));
process.stdin.on('end', () => {
  const { town, bulletins, titles } = JSON.parse(input);
  const out = {
    texts: bulletins.map(b => cms.phoneTexts(b.data, town, b.path)),
    ids: (titles || []).map(t => cms.newId(t[0], t[1], town)),
  };
  process.stdout.write(JSON.stringify(out));
});
