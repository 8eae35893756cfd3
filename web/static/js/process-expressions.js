/* What the properties panel writes into a diagram, as pure functions (no DOM): timer expressions from a choice
   and back, gateway conditions from field + comparison + value and back. Only the forms the engine's helpers
   understand are generated (engine/workflow/instances.py: _step_helpers; docs/architecture.md); anything else
   reads back as null and stays editable as 高级 (the raw expression). The deploy checks parse and name-check
   every expression again on the server (engine/workflow/specs.py, checks.py).
   Exposes window.LvyueExpressions. */
(function () {
  "use strict";

  var NAME = "[A-Za-z_][A-Za-z0-9_]*";

  /* A timer choice: {kind: "limit"|"field"|"workdays"|"days"|"date", key, field, when: "before"|"at"|"after",
     n, date: "YYYY-MM-DD", time: "HH:MM"} → the timeDate expression, or "" when incomplete. */
  function timerExpression(choice) {
    var n = parseInt(choice.n, 10);
    var count = isNaN(n) || n < 0 || n > 366 || String(n) !== String(choice.n).trim() ? null : n;
    if (choice.kind === "limit" || choice.kind === "field") {
      var anchor = choice.kind === "limit" ? (choice.key ? "limit(" + JSON.stringify(choice.key) + ")" : "") :
        (new RegExp("^" + NAME + "$").test(choice.field || "") ? choice.field : "");
      if (!anchor) { return ""; }
      if (choice.when === "at" || (choice.when !== "at" && count === 0)) {
        return choice.kind === "limit" ? anchor : "end_of(" + anchor + ")";
      }
      if (count === null) { return ""; }
      if (choice.when === "before") {
        return choice.kind === "limit" ? "reminder(" + JSON.stringify(choice.key) + ", " + count + ")" :
          "before(" + anchor + ", " + count + ")";
      }
      return "after(" + anchor + ", " + count + ")";
    }
    if (choice.kind === "workdays" || choice.kind === "days") {
      return count === null ? "" : (choice.kind === "workdays" ? "workdays(" : "calendar_days(") + count + ")";
    }
    if (choice.kind === "date") {
      if (!/^\d{4}-\d{2}-\d{2}$/.test(choice.date || "")) { return ""; }
      var time = /^\d{2}:\d{2}$/.test(choice.time || "") ? choice.time : "09:00";
      return JSON.stringify(choice.date + "T" + time + ":00+08:00");
    }
    return "";
  }

  /* The choice a timeDate expression was generated from, or null (then it is shown as 高级). */
  function timerChoice(expression) {
    var text = (expression || "").trim(), m;
    if ((m = /^reminder\("([^"\\]+)",\s*(\d+)\)$/.exec(text))) { return {kind: "limit", key: m[1], when: "before", n: +m[2]}; }
    if ((m = /^limit\("([^"\\]+)"\)$/.exec(text))) { return {kind: "limit", key: m[1], when: "at", n: 0}; }
    if ((m = /^after\(limit\("([^"\\]+)"\),\s*(\d+)\)$/.exec(text))) { return {kind: "limit", key: m[1], when: "after", n: +m[2]}; }
    if ((m = new RegExp("^before\\((" + NAME + "),\\s*(\\d+)\\)$").exec(text))) { return {kind: "field", field: m[1], when: "before", n: +m[2]}; }
    if ((m = new RegExp("^end_of\\((" + NAME + ")\\)$").exec(text))) { return {kind: "field", field: m[1], when: "at", n: 0}; }
    if ((m = new RegExp("^after\\((" + NAME + "),\\s*(\\d+)\\)$").exec(text))) { return {kind: "field", field: m[1], when: "after", n: +m[2]}; }
    if ((m = /^workdays\((\d+)\)$/.exec(text))) { return {kind: "workdays", n: +m[1]}; }
    if ((m = /^calendar_days\((\d+)\)$/.exec(text))) { return {kind: "days", n: +m[1]}; }
    if ((m = /^"(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}):00\+08:00"$/.exec(text))) { return {kind: "date", date: m[1], time: m[2]}; }
    return null;
  }

  var COMPARISONS = {"==": "等于", "!=": "不等于", ">": "大于", "<": "小于", ">=": "大于或等于", "<=": "小于或等于",
                     "in": "属于其中之一", "not in": "不属于其中任何一个"};
  var LISTED = {"in": true, "not in": true};  // comparisons whose value is a list of choices

  function literal(value) {
    if (value === true) { return "True"; }
    if (value === false) { return "False"; }
    if (value === null) { return "None"; }
    if (typeof value === "number") { return String(value); }
    return JSON.stringify(String(value));
  }

  /* {field, op, value} → a condition: a yes/no field as `field` / `not field`; "in" / "not in" with a non-empty
     list of values as `field in ["a", "b"]`; else `field op literal`. */
  function conditionExpression(rule) {
    if (!rule || !new RegExp("^" + NAME + "$").test(rule.field || "") || !COMPARISONS[rule.op]) { return ""; }
    if (LISTED[rule.op]) {
      if (!Array.isArray(rule.value) || !rule.value.length) { return ""; }
      return rule.field + " " + rule.op + " [" + rule.value.map(literal).join(", ") + "]";
    }
    if (Array.isArray(rule.value)) { return ""; }
    if (rule.value === undefined || rule.value === "") { return ""; }
    if (rule.value === true || rule.value === false) {
      var positive = (rule.op === "==") === rule.value;
      return (positive ? "" : "not ") + rule.field;
    }
    return rule.field + " " + rule.op + " " + literal(rule.value);
  }

  function parseLiteral(text) {
    if (text === "True") { return true; }
    if (text === "False") { return false; }
    if (/^-?\d+(\.\d+)?$/.test(text)) { return Number(text); }
    if (/^"(?:[^"\\]|\\.)*"$/.test(text)) { try { return JSON.parse(text); } catch (error) { return undefined; } }
    if (/^'[^'\\"]*'$/.test(text)) { return text.slice(1, -1); }
    return undefined;
  }

  /* `"a", "b"` (the inside of a list or tuple of literals) → ["a", "b"], or null when any item is no literal. */
  function parseList(text) {
    var item = /^\s*("(?:[^"\\]|\\.)*"|'[^'\\"]*'|-?\d+(?:\.\d+)?|True|False)\s*(,|$)/, values = [], rest = text, m;
    while (rest.trim() !== "") {
      if (!(m = item.exec(rest))) { return null; }
      var value = parseLiteral(m[1]);
      if (value === undefined) { return null; }
      values.push(value);
      rest = rest.slice(m[0].length);
      if (m[2] === "") { break; }
    }
    return rest.trim() === "" ? values : null;
  }

  /* The rule a condition was generated from, or null (shown as 高级). */
  function conditionRule(expression) {
    var text = (expression || "").trim(), m;
    if ((m = new RegExp("^(not\\s+)?(" + NAME + ")$").exec(text)) && m[2] !== "True" && m[2] !== "False" && m[2] !== "not") {
      return {field: m[2], op: "==", value: !m[1]};
    }
    if ((m = new RegExp("^(" + NAME + ")\\s+(not\\s+in|in)\\s*[\\[(](.*)[\\])]$").exec(text))) {
      var values = parseList(m[3]);
      if (values && values.length) { return {field: m[1], op: m[2].replace(/\\s+/, " "), value: values}; }
      return null;
    }
    if ((m = new RegExp("^(" + NAME + ")\\s*(==|!=|>=|<=|>|<)\\s*(.+)$").exec(text))) {
      var value = parseLiteral(m[3].trim());
      if (value !== undefined && value !== null) { return {field: m[1], op: m[2], value: value}; }
    }
    return null;
  }

  window.LvyueExpressions = {timerExpression: timerExpression, timerChoice: timerChoice, COMPARISONS: COMPARISONS, LISTED: LISTED,
                             conditionExpression: conditionExpression, conditionRule: conditionRule, literal: literal};
}());
