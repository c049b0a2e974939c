function setAll(open){document.querySelectorAll('details').forEach(function(d){d.open=open;});}
function revealHash(){
  var id=decodeURIComponent(location.hash.slice(1)); if(!id){return;}
  var el=document.getElementById(id); if(!el){return;}
  for(var n=el;n;n=n.parentElement){if(n.tagName==='DETAILS'){n.open=true;}}
  el.scrollIntoView();
}
window.addEventListener('hashchange',revealHash); revealHash();
