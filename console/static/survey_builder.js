// The question builder above the definition editor: add a question of a type, edit its title, choices
// and 必答, move it up or down, delete it. It reads and writes the same SurveyJS JSON as the textarea, so
// the server checks whatever either produced.
(function () {
  var box = document.getElementById("builder"), area = document.getElementById("definition");
  if (!box || !area) return;
  var TYPES = {
    radiogroup: ["单选", function () { return {type: "radiogroup", choices: choices(["选项一", "选项二"])}; }],
    checkbox: ["多选", function () { return {type: "checkbox", choices: choices(["选项一", "选项二"])}; }],
    rating: ["评分 1-5", function () { return {type: "rating", rateMin: 1, rateMax: 5}; }],
    nps: ["推荐度 0-10（NPS）", function () { return {type: "rating", rateMin: 0, rateMax: 10}; }],
    text: ["填空", function () { return {type: "text"}; }],
    comment: ["多行文字", function () { return {type: "comment"}; }]
  };
  function choices(texts) { return texts.map(function (t, i) { return {value: "c" + (i + 1), text: t}; }); }
  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function read() { try { var d = JSON.parse(area.value); return d && Array.isArray(d.pages) ? d : null; } catch (e) { return null; } }
  function write(d) { area.value = JSON.stringify(d, null, 2); render(); }
  function all(d) {  // [page index, element index] of every question, in order
    var out = [];
    d.pages.forEach(function (p, i) { (p.elements || []).forEach(function (_, j) { out.push([i, j]); }); });
    return out;
  }
  function freeName(d) {
    var used = {}, n = 1;
    all(d).forEach(function (at) { used[d.pages[at[0]].elements[at[1]].name] = true; });
    while (used["q" + n]) n++;
    return "q" + n;
  }
  function withChoices(q, text) {  // one choice per line; a line kept keeps its value
    var old = {}, used = {};
    (q.choices || []).forEach(function (c) { var t = typeof c === "object" ? c.text || c.value : c; old[t] = typeof c === "object" ? c.value : c; });
    q.choices = text.split("\n").map(function (s) { return s.trim(); }).filter(Boolean).map(function (t, i) {
      var v = old[t] !== undefined && !used[old[t]] ? String(old[t]) : "c" + (i + 1);
      while (used[v]) v = v + "_";
      used[v] = true;
      return {value: v, text: t};
    });
  }
  function render() {
    box.hidden = false;
    box.replaceChildren();
    var d = read();
    if (!d) { box.append(el("div", {"class": "alert alert-secondary py-1 small mb-0"}, "下方 JSON 有误或不是问卷定义，题目编辑器暂不可用；改正 JSON 后即可使用。")); return; }
    var list = el("ol", {"class": "list-group list-group-numbered mb-2", "aria-label": "题目"});
    all(d).forEach(function (at, index, every) {
      var q = d.pages[at[0]].elements[at[1]];
      var item = el("li", {"class": "list-group-item", "data-question": q.name});
      var head = el("div", {"class": "d-flex gap-2 align-items-center mb-1"});
      var title = el("input", {"class": "form-control form-control-sm", "aria-label": "题目 " + (index + 1) + " 标题"});
      title.value = q.title || "";
      title.addEventListener("change", function () { q.title = title.value; write(d); });
      var kind = el("span", {"class": "badge text-bg-light border"}, q.type + (q.type === "rating" && q.rateMin === 0 ? " NPS" : ""));
      var required = el("input", {type: "checkbox", "class": "form-check-input", "aria-label": "题目 " + (index + 1) + " 必答"});
      required.checked = !!q.isRequired;
      required.addEventListener("change", function () { if (required.checked) q.isRequired = true; else delete q.isRequired; write(d); });
      var label = el("label", {"class": "small text-nowrap"}, "必答 ");
      label.prepend(required);
      head.append(title, kind, label, button("↑", "上移", index === 0, function () { move(d, every, index, -1); }),
                  button("↓", "下移", index === every.length - 1, function () { move(d, every, index, 1); }),
                  button("删除", "删除", every.length === 1, function () { d.pages[at[0]].elements.splice(at[1], 1); write(d); }));
      item.append(head);
      if (Array.isArray(q.choices)) {
        var lines = el("textarea", {"class": "form-control form-control-sm", rows: Math.max(2, q.choices.length),
                                    "aria-label": "题目 " + (index + 1) + " 选项（每行一个）"});
        lines.value = q.choices.map(function (c) { return typeof c === "object" ? c.text || c.value : c; }).join("\n");
        lines.addEventListener("change", function () { withChoices(q, lines.value); write(d); });
        item.append(lines);
      }
      list.append(item);
    });
    var add = el("div", {"class": "d-flex gap-2"});
    var type = el("select", {"class": "form-select form-select-sm w-auto", "aria-label": "新题型"});
    Object.keys(TYPES).forEach(function (k) { type.append(el("option", {value: k}, TYPES[k][0])); });
    add.append(type, button("添加题目", "添加题目", false, function () {
      var q = TYPES[type.value][1]();
      q.name = freeName(d);
      q.title = "新题目";
      d.pages[d.pages.length - 1].elements = (d.pages[d.pages.length - 1].elements || []).concat([q]);
      write(d);
    }));
    box.append(list, add);
  }
  function button(text, label, disabled, onClick) {
    var b = el("button", {type: "button", "class": "btn btn-sm btn-outline-secondary text-nowrap", "aria-label": label}, text);
    b.disabled = disabled;
    b.addEventListener("click", onClick);
    return b;
  }
  function move(d, every, index, by) {  // swap with the neighbour, across pages too
    var a = every[index], b = every[index + by];
    var qa = d.pages[a[0]].elements[a[1]], qb = d.pages[b[0]].elements[b[1]];
    d.pages[a[0]].elements[a[1]] = qb;
    d.pages[b[0]].elements[b[1]] = qa;
    write(d);
  }
  area.addEventListener("input", render);  // while typing, so the layout settles before a click elsewhere
  render();
})();
