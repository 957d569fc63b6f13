/*
  Projector screens (templates/projector/*.html): plain JavaScript, no framework, no request
  but our own. The pages work without this file; it adds the live parts.

  Voting screen: polls status.json every few seconds and swaps the numbers and the state in
  place (never a reload); on a network error it keeps the last numbers, shows a small
  "reconnecting" mark and tries again, waiting longer each time. The countdown runs on the
  server's clock: the offset to ours is measured on every answer.

  Award reveal: one slide at a time; the keys of a keyboard or a presentation clicker move on
  and back, the step is kept in the address (#step-N) so that a reload resumes there.

  Values come from data-* attributes; sizes are set through CSS custom properties
  (element.style.setProperty), which the Content-Security-Policy allows.
*/
(function () {
  "use strict";

  document.documentElement.classList.add("js");

  var MIN_FIT = 0.5;
  var FIT_STEP = 0.04;

  /* Lowers --fit on `target` until nothing overflows (or MIN_FIT is reached). */
  function fit(target, overflows) {
    var scale = 1;
    target.style.setProperty("--fit", "1");
    while (overflows() && scale - FIT_STEP >= MIN_FIT) {
      scale = Math.round((scale - FIT_STEP) * 100) / 100;
      target.style.setProperty("--fit", String(scale));
    }
    return scale;
  }

  function overflowing(element) {
    return element.scrollHeight > element.clientHeight + 1 || element.scrollWidth > element.clientWidth + 1;
  }

  function onResize(callback) {
    var pending = null;
    window.addEventListener("resize", function () {
      window.clearTimeout(pending);
      pending = window.setTimeout(callback, 150);
    });
    if (document.fonts && document.fonts.ready) {
      document.fonts.ready.then(callback);
    }
  }

  function toggleFullscreen() {
    if (document.fullscreenElement) {
      if (document.exitFullscreen) { document.exitFullscreen(); }
    } else if (document.documentElement.requestFullscreen) {
      document.documentElement.requestFullscreen().catch(function () { /* refused: stay as we are */ });
    }
  }

  function plainKey(event) {
    return !(event.altKey || event.ctrlKey || event.metaKey || event.defaultPrevented);
  }

  /* ---------------------------------------------------------------- */
  /* On-site voting screen                                             */

  function votingScreen(body) {
    var statusUrl = body.getAttribute("data-status-url");
    var pollMs = parseInt(body.getAttribute("data-poll-ms"), 10) || 2500;
    var maxWaitMs = 15000;
    var timeoutMs = 6000;
    var lang = document.documentElement.lang || "ko";
    var numbers = new Intl.NumberFormat(lang);
    var clockTime = new Intl.DateTimeFormat(lang, { hour: "numeric", minute: "2-digit", timeZone: "Asia/Seoul" });

    var state = body.getAttribute("data-state");
    var closesAt = Date.parse(body.getAttribute("data-closes-at")) || null;
    // Until the first answer: the time the page was made at.  Off by the page's load time only.
    var offset = (Date.parse(body.getAttribute("data-server-time")) || Date.now()) - Date.now();
    var failures = 0;
    var inFlight = false;
    var lastPoll = 0;
    var timer = null;

    var countdown = document.getElementById("countdown");
    var countdownValue = document.getElementById("countdown-value");
    var closesClock = document.getElementById("closes-clock");
    var connection = document.getElementById("connection");
    var signedOut = document.getElementById("signed-out");
    var grid = document.getElementById("finalists");

    function clock(seconds) {
      var hours = Math.floor(seconds / 3600);
      var minutes = Math.floor((seconds % 3600) / 60);
      var rest = seconds % 60;
      var mm = hours ? String(minutes).padStart(2, "0") : String(minutes);
      return (hours ? hours + ":" : "") + mm + ":" + String(rest).padStart(2, "0");
    }

    function tick() {
      var running = state === "open" && closesAt !== null;
      countdown.hidden = !running;
      if (!running) { return; }
      var left = Math.max(0, Math.ceil((closesAt - (Date.now() + offset)) / 1000));
      countdownValue.textContent = clock(left);
      countdown.classList.toggle("is-ending", left <= 60);
      if (left === 0 && !inFlight && Date.now() - lastPoll > 1000) {
        poll(); // the session has just closed by itself: ask, so the screen says so now
      }
    }

    function setNumber(name, value) {
      var element = document.querySelector('[data-turnout="' + name + '"]');
      var text = numbers.format(value);
      if (element.textContent !== text) {
        element.textContent = text;
        element.classList.remove("bump");
        void element.offsetWidth; // restart the animation
        element.classList.add("bump");
      }
    }

    function valid(data) {
      return data && typeof data.state === "string" && data.ballots &&
        typeof data.ballots.total === "number" && typeof data.server_time === "string";
    }

    function apply(data) {
      state = data.state;
      body.setAttribute("data-state", state);
      closesAt = data.closes_at ? Date.parse(data.closes_at) : null;
      closesClock.textContent = closesAt ? clockTime.format(new Date(closesAt)) : "";
      setNumber("total", data.ballots.total);
      setNumber("resident", data.ballots.resident);
      setNumber("official", data.ballots.official);
      tick();
    }

    function schedule() {
      window.clearTimeout(timer);
      var wait = failures ? Math.min(pollMs * Math.pow(2, failures - 1), maxWaitMs) : pollMs;
      timer = window.setTimeout(poll, wait);
    }

    function poll() {
      if (inFlight) { return; }
      inFlight = true;
      lastPoll = Date.now();
      window.clearTimeout(timer);
      var controller = window.AbortController ? new AbortController() : null;
      var abortTimer = controller ? window.setTimeout(function () { controller.abort(); }, timeoutMs) : null;
      var sent = Date.now();
      fetch(statusUrl, {
        cache: "no-store",
        credentials: "same-origin",
        headers: { "Accept": "application/json" },
        signal: controller ? controller.signal : undefined
      }).then(function (response) {
        // Signed out (the session ended): the poll was sent to the login page.
        signedOut.hidden = !(response.redirected && response.url.indexOf("/login") !== -1);
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json(); // a login page instead (signed out) fails here too
      }).then(function (data) {
        if (!valid(data)) { throw new Error("unexpected answer"); }
        var received = Date.now();
        offset = Date.parse(data.server_time) - (sent + received) / 2;
        apply(data);
        failures = 0;
        connection.hidden = true;
      }).catch(function () {
        failures += 1;
        connection.hidden = false;
      }).then(function () {
        window.clearTimeout(abortTimer);
        inFlight = false;
        schedule();
      });
    }

    function fitGrid() {
      var cards = grid.children;
      fit(grid, function () {
        if (overflowing(grid)) { return true; }
        for (var i = 0; i < cards.length; i += 1) {
          if (overflowing(cards[i])) { return true; }
        }
        return false;
      });
    }

    document.addEventListener("keydown", function (event) {
      if (plainKey(event) && (event.key === "f" || event.key === "F")) {
        event.preventDefault();
        toggleFullscreen();
      }
    });
    fitGrid();
    onResize(fitGrid);
    window.setInterval(tick, 250);
    tick();
    poll();
  }

  /* ---------------------------------------------------------------- */
  /* Award reveal                                                      */

  var NEXT_KEYS = { ArrowRight: true, ArrowDown: true, PageDown: true, " ": true, Spacebar: true, Enter: true };
  var PREVIOUS_KEYS = { ArrowLeft: true, ArrowUp: true, PageUp: true, Backspace: true };

  function revealScreen(body) {
    var slides = Array.prototype.slice.call(document.querySelectorAll(".slide"));
    if (!slides.length) { return; }
    var current = -1;
    var controls = document.getElementById("reveal-controls");
    var hideControls = null;

    function clamp(index) {
      return Math.max(0, Math.min(slides.length - 1, index));
    }

    function stepInAddress() {
      var match = /^#step-(\d+)$/.exec(window.location.hash);
      return match ? clamp(parseInt(match[1], 10) - 1) : 0;
    }

    function fitSlide(slide) {
      fit(slide, function () { return overflowing(slide); });
    }

    function show(index) {
      index = clamp(index);
      if (index === current) { return; }
      if (current >= 0) { slides[current].classList.remove("is-current"); }
      current = index;
      var slide = slides[current];
      slide.classList.add("is-current");
      var hash = "#step-" + (current + 1);
      if (window.location.hash !== hash) {
        // replaceState: the steps do not fill the browser's history, and no hashchange fires.
        window.history.replaceState(null, "", hash);
      }
      body.setAttribute("data-current-step", String(current + 1));
      fitSlide(slide);
      window.scrollTo(0, 0);
    }

    document.addEventListener("keydown", function (event) {
      if (!plainKey(event)) { return; }
      var key = event.key;
      if (NEXT_KEYS[key]) { show(current + 1); }
      else if (PREVIOUS_KEYS[key]) { show(current - 1); }
      else if (key === "Home") { show(0); }
      else if (key === "End") { show(slides.length - 1); }
      else if (key === "f" || key === "F") { toggleFullscreen(); }
      else { return; }
      event.preventDefault();
    });
    window.addEventListener("hashchange", function () { show(stepInAddress()); });

    controls.hidden = false;
    document.getElementById("reveal-next").addEventListener("click", function (event) {
      show(current + 1);
      event.currentTarget.blur();
    });
    document.getElementById("reveal-prev").addEventListener("click", function (event) {
      show(current - 1);
      event.currentTarget.blur();
    });
    document.addEventListener("mousemove", function () {
      body.classList.add("show-controls");
      window.clearTimeout(hideControls);
      hideControls = window.setTimeout(function () { body.classList.remove("show-controls"); }, 2500);
    });

    show(stepInAddress());
    onResize(function () { fitSlide(slides[current]); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var body = document.body;
    var screen = body.getAttribute("data-screen");
    if (screen === "voting") { votingScreen(body); }
    else if (screen === "reveal") { revealScreen(body); }
  });
}());
