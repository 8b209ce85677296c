#include "admin/dashboard.h"

namespace steward::admin {

std::string_view DashboardHtml() {
  static constexpr std::string_view kHtml = R"HTML(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Steward</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:0;background:#f6f7f9;color:#1b1f24}
header{background:#1b1f24;color:#fff;padding:12px 20px;display:flex;gap:16px;align-items:center}
header h1{font-size:18px;margin:0}main{padding:20px;display:grid;gap:16px;grid-template-columns:repeat(auto-fit,minmax(360px,1fr))}
section{background:#fff;border:1px solid #dde1e6;border-radius:8px;padding:14px}h2{font-size:15px;margin:0 0 8px}
table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:4px 6px;border-bottom:1px solid #eef0f3;font-size:13px}
.ok{color:#137333}.bad{color:#b3261e}input{padding:6px;width:320px}button{padding:6px 12px}
</style></head><body>
<header><h1>Steward</h1><span id="who"></span></header>
<div id="login" style="padding:20px"><label>Admin key <input id="key" type="password" autocomplete="off"></label>
<button id="go">Open</button> <span id="err" class="bad"></span></div>
<main id="app" hidden>
<section><h2>Health</h2><div id="ready"></div></section>
<section><h2>Traffic</h2><table id="traffic"></table></section>
<section><h2>Upstreams</h2><table id="upstreams"></table></section>
<section><h2>API keys</h2><table id="keys"></table></section>
</main>
<script>
const $=id=>document.getElementById(id);
async function api(path){const r=await fetch(path,{headers:{Authorization:'Bearer '+sessionStorage.getItem('stewardKey')}});
 if(!r.ok) throw new Error(path+': '+r.status); return path==='/metrics'?r.text():r.json();}
function rows(t,head,data){t.innerHTML='<tr>'+head.map(h=>'<th>'+h+'</th>').join('')+'</tr>'+
 data.map(r=>'<tr>'+r.map(c=>'<td>'+String(c).replace(/[<&]/g,x=>x==='<'?'&lt;':'&amp;')+'</td>').join('')+'</tr>').join('');}
async function refresh(){
 try{
  const rd=await fetch('/readyz').then(r=>r.json());
  $('ready').innerHTML='<b class="'+(rd.status==='ready'?'ok':'bad')+'">'+rd.status+'</b> '+
   Object.entries(rd.checks).map(([k,v])=>k+': '+v).join(', ');
  const m=await api('/metrics');const req={},br=[];
  for(const line of m.split('\n')){let x=line.match(/^steward_requests_total\{route="([^"]*)",model="([^"]*)",status="([^"]*)"\} (\d+)/);
   if(x) req[x[1]+' '+x[3]]=(req[x[1]+' '+x[3]]||0)+ +x[4];
   x=line.match(/^steward_upstream_breaker_state\{upstream="([^"]*)"\} (\S+)/); if(x) br.push([x[1],['closed','open','half-open'][+x[2]]]);}
  rows($('traffic'),['route status','requests'],Object.entries(req));
  rows($('upstreams'),['upstream','circuit'],br);
  const k=await api('/admin/keys');
  rows($('keys'),['id','name','role','rpm','tpm','revoked'],k.keys.map(x=>[x.id,x.name,x.role,x.rpm,x.tpm,x.revoked]));
  $('login').hidden=true;$('app').hidden=false;$('err').textContent='';
 }catch(e){$('err').textContent=e.message;$('login').hidden=false;}
}
$('go').onclick=()=>{sessionStorage.setItem('stewardKey',$('key').value);refresh();};
if(sessionStorage.getItem('stewardKey')) refresh();
setInterval(()=>{if(!$('app').hidden) refresh();},5000);
</script></body></html>
)HTML";
  return kHtml;
}

}  // namespace steward::admin
